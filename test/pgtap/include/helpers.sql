-- Helpers shared by the pgTAP files (\ir include/helpers.sql); pg_prove
-- does not run this folder by itself.

-- recreate_roles(roles): drop what an interrupted earlier run left of these
-- roles, then create them afresh (NOLOGIN).
CREATE FUNCTION pg_temp.recreate_roles(roles text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY roles LOOP
		IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('DROP OWNED BY %I', r);
			EXECUTE format('DROP ROLE %I', r);
		END IF;
		EXECUTE format('CREATE ROLE %I NOLOGIN', r);
	END LOOP;
END $$;

-- run_as(role, kalam user or NULL, sql [, then_sql]): runs sql (then
-- then_sql) as that PostgreSQL role with that effective kalam user, for
-- the length of the statement; returns the first column of the first row
-- of the last query, or "ERROR <sqlstate>: <message>".
CREATE FUNCTION pg_temp.run_as(r name, kalam_user text, sql text, then_sql text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	PERFORM kalam._set_effective_user(kalam_user::kalam.user_id, true);
	IF r IS NOT NULL THEN
		EXECUTE format('SET LOCAL ROLE %I', r);
	END IF;
	EXECUTE sql INTO result;
	IF then_sql IS NOT NULL THEN
		EXECUTE then_sql INTO result;
	END IF;
	RESET ROLE;
	RETURN result;
EXCEPTION WHEN others THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;
