/*-------------------------------------------------------------------------
 *
 * live_query.h
 *	  What a live query watches: parsed once at subscribe time, stored in
 *	  system.live_queries.options, rebuilt by the change trigger.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_LIVE_QUERY_H
#define KALAM_LIVE_QUERY_H

#include "catalog/objectaddress.h"
#include "nodes/pg_list.h"
#include "utils/rel.h"

/*
 * The WHERE of a live query may use only columns, constants, AND / OR /
 * NOT, IS [NOT] NULL, boolean tests and leakproof operators and functions:
 * it runs inside other sessions' writes, where it must neither fail nor
 * leak.
 */
extern void live_check_where(Node *where, Relation rel);

/*
 * The types, collations, operators and functions a node of a live query's
 * WHERE names (InvalidOid ones included): at most LIVE_WHERE_MAX_OBJECTS,
 * how many
 */
#define LIVE_WHERE_MAX_OBJECTS 5
extern int	live_where_node_objects(Node *node, ObjectAddress *objects);

/*
 * The name of a row-level security policy on rel that reads may meet and
 * that is not kalamdb's own (kalam_owner, kalam_read), or NULL: such a
 * policy could hide rows from a subscriber, which notifications, routed by
 * kalamdb's rules, would not.  Such a table is not watched.
 */
extern const char *live_foreign_read_policy(Relation rel);

/*
 * kalam.user_id changed (its assign hook): the session's subscriptions end
 * when the transaction commits if it leaves the session another user
 */
extern void live_effective_user_changed(void);

/*
 * Act as the owner of system.live_queries (the extension's owner), in a
 * restricted security context, for what reads or removes subscriptions
 * the caller may not see; the caller's user and context are saved in
 * *save_user and *save_sec for SetUserIdAndSecContext() to restore
 */
extern void live_act_as_catalog_owner(Oid *save_user, int *save_sec);

#endif							/* KALAM_LIVE_QUERY_H */
