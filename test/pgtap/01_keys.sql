-- pgTAP: catalog properties of the typed keys (casts, operator classes,
-- function markings, hashing) and their rejection SQLSTATEs.
BEGIN;
SELECT plan(114);

CREATE TEMP TABLE key_types (name text, samples text[], bad text, too_long text) ON COMMIT DROP;
INSERT INTO key_types VALUES
	('user_id', '{Alice-1,a,ZZ_z,0123456789abcdef}', 'al ice', repeat('u', 129)),
	('user_name', '{Alice.S,alice.s,b,0123456789abcdef}', 'al@ice', repeat('n', 129)),
	('namespace_id', '{chat,_,a0123456789abcdef}', '1chat', repeat('n', 64)),
	('table_name', '{messages,t,a0123456789abcdef}', 'mes-sages', repeat('t', 64)),
	('table_id', '{chat.messages,a.b,a0123456789.abcdef}', 'chat', 'c.' || repeat('t', 64)),
	('storage_id', '{local,s3-eu,a0123456789abcdef}', 'Local', repeat('s', 65)),
	('job_id', '{UC-0123456789ab,FL-000000000000}', 'UC-0123456789AB', 'UC-0123456789abc'),
	('live_query_id', '{u:c:s,a-b:c-d:e-f}', 'u:c', repeat('u', 129) || ':c:s'),
	('row_id', '{0,42,9223372036854775807}', '-42', '12345678901234567890'),
	('user_row_id', '{alice:42,a:0,a-very-long-user:9223372036854775807}', 'alice', repeat('u', 129) || ':1');

-- hash_agrees(type, values): hash_extended(v, 0) has the bits of hash(v)
CREATE FUNCTION pg_temp.hash_agrees(name text, vals text[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	result boolean;
BEGIN
	EXECUTE format(
		'SELECT bool_and((kalam.%1$s_hash(v)::bigint & 4294967295) = (kalam.%1$s_hash_extended(v, 0) & 4294967295)
						 AND kalam.%1$s_hash_extended(v, 0) <> kalam.%1$s_hash_extended(v, 1))
		 FROM unnest($1::kalam.%1$s[]) v', name) INTO result USING vals;
	RETURN result;
END $$;

-- 10 types exist
SELECT has_type('kalam', name, 'type kalam.' || name || ' exists') FROM key_types ORDER BY name;

-- casts: exactly two per type, both explicit, to and from text
SELECT is(
	(SELECT count(*) FROM pg_cast c
	 WHERE c.castsource = ('kalam.' || k.name)::regtype OR c.casttarget = ('kalam.' || k.name)::regtype),
	2::bigint, 'kalam.' || k.name || ' has two casts')
FROM key_types k ORDER BY k.name;
SELECT is(
	(SELECT count(*) FROM pg_cast c
	 WHERE (c.castsource IN (SELECT ('kalam.' || name)::regtype FROM key_types)
			OR c.casttarget IN (SELECT ('kalam.' || name)::regtype FROM key_types))
	   AND (c.castcontext <> 'e'
			OR (c.castsource <> 'text'::regtype AND c.casttarget <> 'text'::regtype))),
	0::bigint, 'no implicit or assignment cast, and no cast but to and from text');

-- operator classes: a default btree and a default hash class each, valid
SELECT is(
	(SELECT count(*) FROM pg_opclass o JOIN pg_am a ON a.oid = o.opcmethod
	 WHERE o.opcintype = ('kalam.' || k.name)::regtype AND o.opcdefault
	   AND a.amname IN ('btree', 'hash')),
	2::bigint, 'kalam.' || k.name || ' has default btree and hash classes')
FROM key_types k ORDER BY k.name;
SELECT is(count(*), 20::bigint, '20 kalam operator classes')
FROM pg_opclass WHERE opcnamespace = 'kalam'::regnamespace;
SELECT ok(bool_and(amvalidate(oid)), 'amvalidate() is true for every kalam operator class')
FROM pg_opclass WHERE opcnamespace = 'kalam'::regnamespace;

-- btree support: 1 and 2 everywhere, 4 (equalimage) except user_name
SELECT is(
	(SELECT array_agg(p.amprocnum ORDER BY p.amprocnum) FROM pg_opclass o
	 JOIN pg_am a ON a.oid = o.opcmethod AND a.amname = 'btree'
	 JOIN pg_amproc p ON p.amprocfamily = o.opcfamily
	 WHERE o.opcintype = ('kalam.' || k.name)::regtype),
	CASE WHEN k.name = 'user_name' THEN ARRAY[1, 2]::smallint[] ELSE ARRAY[1, 2, 4]::smallint[] END,
	'btree support functions of kalam.' || k.name)
FROM key_types k ORDER BY k.name;

-- hash support 2 with seed 0 agrees with support 1; another seed differs
SELECT ok(pg_temp.hash_agrees(name, samples),
		  'kalam.' || name || ': hash_extended(v, 0) agrees with hash(v)')
FROM key_types ORDER BY name;

-- operators: all six, with commutator, negator and estimators; = hashes and merges
SELECT is(
	(SELECT count(*) FROM pg_operator o
	 WHERE o.oprleft = ('kalam.' || k.name)::regtype AND o.oprright = o.oprleft
	   AND o.oprname IN ('=', '<>', '<', '<=', '>', '>=')
	   AND o.oprcom <> 0 AND o.oprnegate <> 0 AND o.oprrest <> 0 AND o.oprjoin <> 0),
	6::bigint, 'kalam.' || k.name || ' has = <> < <= > >= with commutators, negators and estimators')
FROM key_types k ORDER BY k.name;
SELECT ok(
	(SELECT oprcanhash AND oprcanmerge FROM pg_operator
	 WHERE oprname = '=' AND oprleft = ('kalam.' || k.name)::regtype AND oprright = oprleft),
	'kalam.' || k.name || ' = is HASHES and MERGES')
FROM key_types k ORDER BY k.name;

-- comparison and hash functions are LEAKPROOF (row-level security needs it)
SELECT is(
	(SELECT count(*) FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
	 WHERE o.oprleft IN (SELECT ('kalam.' || name)::regtype FROM key_types)
	   AND o.oprname IN ('=', '<>', '<', '<=', '>', '>=') AND NOT p.proleakproof),
	0::bigint, 'every comparison operator function is LEAKPROOF');
SELECT is(
	(SELECT count(*) FROM pg_amproc a JOIN pg_proc p ON p.oid = a.amproc
	 JOIN pg_opfamily f ON f.oid = a.amprocfamily
	 WHERE f.opfnamespace = 'kalam'::regnamespace
	   AND p.prorettype IN ('int4'::regtype, 'int8'::regtype) AND NOT p.proleakproof),
	0::bigint, 'every btree compare and hash support function is LEAKPROOF');

-- every function of the typed keys is PARALLEL SAFE, and STRICT
SELECT is(
	(SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text)
	 FROM pg_proc p
	 WHERE p.pronamespace = 'kalam'::regnamespace
	   AND (p.proname ~ ('^(' || (SELECT string_agg(name, '|') FROM key_types) || ')_')
			OR p.proname IN ('new_user_id', 'new_row_id', 'row_id_time', 'row_id_node',
							 'new_job_id', 'job_type_of', 'table_id', 'namespace_of',
							 'table_of', 'user_row_id', 'user_of', 'row_of',
							 'user_row_id_first', 'user_row_id_last',
							 'user_row_id_owned_by', 'user_row_id_owned_by_support',
							 'live_query_id', 'connection_of', 'subscription_of'))
	   AND (p.proparallel <> 's' OR NOT p.proisstrict)),
	NULL, 'every typed-key function is PARALLEL SAFE and STRICT');
SELECT is(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'kalam'::regnamespace
	   AND p.proname ~ ('^(' || (SELECT string_agg(name, '|') FROM key_types) || ')_'
						|| '(in|out|recv|send|eq|ne|lt|le|gt|ge|cmp|sortsupport|hash|hash_extended|smaller|larger)$')),
	160::bigint, 'the same 16 support functions for each of the 10 key types');

-- bad input: 22P02, too long: 22001, for every type
SELECT throws_ok(format('SELECT %L::kalam.%s', bad, name), '22P02', NULL,
				 'kalam.' || name || ' rejects ' || quote_literal(bad) || ' with 22P02')
FROM key_types ORDER BY name;
SELECT throws_ok(format('SELECT %L::kalam.%s', too_long, name), '22001', NULL,
				 'kalam.' || name || ' rejects an overlong value with 22001')
FROM key_types ORDER BY name;
SELECT throws_ok(format('SELECT %L::kalam.%s', '', name), '22P02', NULL,
				 'kalam.' || name || ' rejects the empty string with 22P02')
FROM key_types ORDER BY name;

-- the enums
SELECT enum_has_labels('kalam', 'role', ARRAY['user', 'service', 'dba', 'system'], 'kalam.role');
SELECT enum_has_labels('kalam', 'auth_type', ARRAY['password', 'oauth', 'internal'], 'kalam.auth_type');
SELECT enum_has_labels('kalam', 'storage_mode', ARRAY['table', 'region'], 'kalam.storage_mode');
SELECT enum_has_labels('kalam', 'table_type', ARRAY['user', 'shared', 'stream', 'system'], 'kalam.table_type');
SELECT enum_has_labels('kalam', 'table_access', ARRAY['public', 'private', 'restricted'], 'kalam.table_access');
SELECT enum_has_labels('kalam', 'job_status',
	ARRAY['new', 'queued', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'skipped'], 'kalam.job_status');
SELECT is(
	(SELECT count(*) FROM unnest(enum_range(NULL::kalam.job_type)) t
	 WHERE kalam.job_type_of(kalam.new_job_id(t)) = t),
	10::bigint, 'every kalam.job_type has a job id prefix that reads back');

SELECT * FROM finish();
ROLLBACK;
