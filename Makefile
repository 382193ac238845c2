# Makefile for kalamdb (PGXS)

EXTENSION = kalamdb
EXTVERSION = 0.1.0
MODULE_big = kalamdb

SRCS = $(sort $(wildcard src/*.c src/*/*.c))
OBJS = $(SRCS:.c=.o)

DATA_built = kalamdb--$(EXTVERSION).sql

# Install script: the parts in src/sql/ in name order; a part ending in .sh
# is a generator whose output is spliced in (the typed-key declarations are
# table-driven, see src/sql/20_keys.sh).
SQL_PARTS = $(sort $(wildcard src/sql/[0-9]*.sql src/sql/[0-9]*.sh))

# pg_regress tests (sql/*.sql, expected/*.out), in a fixed order
REGRESS = keys_io keys_order keys_binary keys_index keys_functions keys_parallel system_catalog am_placement am_compact
REGRESS_OPTS = --inputdir=. --load-extension=kalamdb

# Warnings are errors unless WERROR=0 is given.
WERROR ?= 1
PG_CFLAGS = -Wall -Wmissing-prototypes -Wpointer-arith -Wvla -Wimplicit-fallthrough
ifneq ($(WERROR),0)
PG_CFLAGS += -Werror
endif
PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK = -lcrypt

EXTRA_CLEAN = results regression.diffs regression.out output_iso tmp_check

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

kalamdb--$(EXTVERSION).sql: $(SQL_PARTS)
	@set -e; for part in $(SQL_PARTS); do \
		case $$part in \
			*.sh) sh $$part ;; \
			*) cat $$part ;; \
		esac; \
	done > $@.tmp
	mv $@.tmp $@

.PHONY: installcheck-isolation
