-- kalamdb install script, version 0.1.0
-- Generated from src/sql/ by the Makefile; edit the parts, not this file.

\echo Use "CREATE EXTENSION kalamdb" to load this file. \quit

GRANT USAGE ON SCHEMA kalam TO PUBLIC;
