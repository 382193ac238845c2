-- kalamdb install script, version 0.1.0
-- Generated from src/sql/ by the Makefile; edit the parts, not this file.

\echo Use "CREATE EXTENSION kalamdb" to load this file. \quit

-- The extension's own schemas are made here, and are its members: a
-- schema named kalam made beforehand by someone else (whose functions
-- this script or kalamdb's SECURITY DEFINER functions would then find)
-- stops the install.  (A control-file schema would be taken as found.)
CREATE SCHEMA kalam;

-- kalamdb needs shared memory and a background worker: refuse to install
-- (SQLSTATE 55000) unless the library was preloaded.
CREATE FUNCTION kalam._require_preload() RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_require_preload_sql'
	LANGUAGE C VOLATILE PARALLEL SAFE;
SELECT kalam._require_preload();

GRANT USAGE ON SCHEMA kalam TO PUBLIC;
