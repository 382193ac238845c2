#!/bin/bash
# walkthrough.sh: the main job.  On a fresh machine, as root:
#
#   sudo bash scripts/walkthrough.sh
#
# Installs what is missing, builds and installs kalamdb, starts a throwaway
# PostgreSQL server with shared_preload_libraries = 'kalamdb', runs
# scripts/walkthrough.sql (a short tour, printed with its results), and
# stops and removes the server.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$KALAM_ROOT"

kalam_install_deps
kalam_build_install
kalam_cluster_start

log "CREATE EXTENSION kalamdb, and a tour"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE kalam_demo"
psql -X -v ON_ERROR_STOP=1 --echo-all --pset=footer=off -d kalam_demo -f scripts/walkthrough.sql
log "done; the throwaway server is stopped and removed"
