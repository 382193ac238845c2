/*-------------------------------------------------------------------------
 *
 * with_type.h
 *	  CREATE TABLE ... WITH (type = ...): registration in KalamDB's spelling.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_WITH_TYPE_H
#define KALAM_WITH_TYPE_H

extern void install_create_table_with_type(void);

#endif							/* KALAM_WITH_TYPE_H */
