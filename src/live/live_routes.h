/*-------------------------------------------------------------------------
 *
 * live_routes.h
 *	  Shared-memory routing of changes to live queries: which (table,
 *	  owner) pairs have subscriptions, and the delivery counters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_LIVE_ROUTES_H
#define KALAM_LIVE_ROUTES_H

#include "keys/key_kind.h"

#define LIVE_ID_MAX_LEN (USER_ID_MAX_LEN + 1 + CONNECTION_ID_MAX_LEN + 1 + SUBSCRIPTION_ID_MAX_LEN)

extern int	kalam_max_live_queries;
extern int	kalam_max_live_queries_per_user;

extern void live_define_gucs(void);
extern Size live_shmem_size(void);
extern void live_shmem_request(void);
extern void live_shmem_init(void);

/*
 * The version of the route of (relid, owner) (owner_len 0: a shared
 * table), 0 if no subscription is routed there.  Writers look here first:
 * a change to a row whose owner nobody watches costs this lookup only.
 */
extern uint64 live_route_version(Oid relid, const char *owner, int owner_len);

/*
 * Route changes: applied when the transaction commits (subscribe,
 * unsubscribe), or at once (session exit, rebuild).
 */
extern void live_route_change_at_commit(Oid relid, const char *owner, int owner_len, int delta);
extern void live_route_change_now(Oid dbid, Oid relid, const char *owner, int owner_len, int delta);

/*
 * The route of row i of the last SPI result, whose first two columns are
 * a table's OID and the owner ("" for a shared table)
 */
extern void live_route_of_spi_row(uint64 i, Oid *relid, char **owner);

/* A delivered change, counted when the writer's transaction commits. */
extern void live_count_delivery_at_commit(const char *live_id);

/* Worker side */
extern void live_flush_counters(void);
extern void live_worker_startup(void);

#endif							/* KALAM_LIVE_ROUTES_H */
