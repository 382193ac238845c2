/*
 * listen.c: the listening side of bench/live.
 *
 *   listen CONNINFO USERS SUBS_PER_USER EXPECTED TIMEOUT_S
 *
 * Opens one session per user (users u1..uUSERS, password "secret-" || name),
 * logs in, subscribes SUBS_PER_USER times to bench.events (each
 * subscription projects id and sent; sent is the writer's clock_timestamp()
 * in microseconds since the epoch), prints "ready" and then waits for
 * notifications.  For each one it records now - sent.  It stops after
 * EXPECTED notifications or TIMEOUT_S seconds without one, and prints
 * "received N median_ms p99_ms max_ms".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <libpq-fe.h>

static double
now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e6 + tv.tv_usec;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static void
must(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
		exit(1);
	}
	PQclear(res);
}

int
main(int argc, char **argv)
{
	const char *conninfo;
	int			users,
				subs,
				expected,
				timeout_s;
	PGconn	  **conns;
	double	   *lat;
	int			received = 0;

	if (argc != 6)
	{
		fprintf(stderr, "usage: listen CONNINFO USERS SUBS_PER_USER EXPECTED TIMEOUT_S\n");
		return 2;
	}
	conninfo = argv[1];
	users = atoi(argv[2]);
	subs = atoi(argv[3]);
	expected = atoi(argv[4]);
	timeout_s = atoi(argv[5]);
	conns = calloc(users, sizeof(PGconn *));
	lat = calloc(expected > 0 ? expected : 1, sizeof(double));

	for (int u = 0; u < users; u++)
	{
		char		sql[256];

		conns[u] = PQconnectdb(conninfo);
		if (PQstatus(conns[u]) != CONNECTION_OK)
		{
			fprintf(stderr, "connection failed: %s", PQerrorMessage(conns[u]));
			return 1;
		}
		snprintf(sql, sizeof(sql), "SELECT kalam.login('u%d', 'secret-u%d')", u + 1, u + 1);
		must(conns[u], sql);
		for (int s = 0; s < subs; s++)
			must(conns[u], "SELECT kalam.subscribe('SELECT id, sent FROM bench.events')");
	}
	printf("ready\n");
	fflush(stdout);

	while (received < expected)
	{
		fd_set		fds;
		int			maxfd = 0;
		struct timeval tv = {timeout_s, 0};

		FD_ZERO(&fds);
		for (int u = 0; u < users; u++)
		{
			int			fd = PQsocket(conns[u]);

			FD_SET(fd, &fds);
			if (fd > maxfd)
				maxfd = fd;
		}
		if (select(maxfd + 1, &fds, NULL, NULL, &tv) <= 0)
			break;				/* timeout */
		for (int u = 0; u < users; u++)
		{
			PGnotify   *n;

			if (!FD_ISSET(PQsocket(conns[u]), &fds))
				continue;
			PQconsumeInput(conns[u]);
			while ((n = PQnotifies(conns[u])) != NULL)
			{
				double		t = now_us();
				const char *p = strstr(n->extra, "\"sent\":");

				if (p && received < expected)
					lat[received++] = (t - atof(p + 7)) / 1000.0;
				PQfreemem(n);
			}
		}
	}

	qsort(lat, received, sizeof(double), cmp_double);
	if (received == 0)
		printf("received 0 0 0 0\n");
	else
		printf("received %d %.3f %.3f %.3f\n", received, lat[received / 2],
			   lat[(int) ((received - 1) * 0.99)], lat[received - 1]);
	for (int u = 0; u < users; u++)
		PQfinish(conns[u]);
	return 0;
}
