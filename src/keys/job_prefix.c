/*-------------------------------------------------------------------------
 *
 * job_prefix.c
 *	  The job types and the two-letter prefixes of their job ids.
 *
 * The labels must match the values of the SQL enum kalam.job_type
 * (src/sql/10_enums.sql); a regression test checks that they do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "keys/job_prefix.h"

typedef struct JobTypeInfo
{
	const char *label;
	const char *prefix;
} JobTypeInfo;

static const JobTypeInfo job_types[] = {
	{"flush", "FL"},
	{"compact", "CO"},
	{"cleanup", "CL"},
	{"backup", "BK"},
	{"restore", "RS"},
	{"retention", "RT"},
	{"stream_eviction", "SE"},
	{"user_cleanup", "UC"},
	{"job_cleanup", "JC"},
	{"live_query_cleanup", "LQ"},
};

#define NUM_JOB_TYPES lengthof(job_types)

int
job_prefix_lookup(const char *two_bytes)
{
	for (int i = 0; i < NUM_JOB_TYPES; i++)
	{
		if (two_bytes[0] == job_types[i].prefix[0] &&
			two_bytes[1] == job_types[i].prefix[1])
			return i;
	}
	return -1;
}

int
job_type_lookup(const char *label)
{
	for (int i = 0; i < NUM_JOB_TYPES; i++)
	{
		if (strcmp(label, job_types[i].label) == 0)
			return i;
	}
	return -1;
}

const char *
job_type_label(int index)
{
	Assert(index >= 0 && index < NUM_JOB_TYPES);
	return job_types[index].label;
}

const char *
job_type_prefix(int index)
{
	Assert(index >= 0 && index < NUM_JOB_TYPES);
	return job_types[index].prefix;
}

const char *
job_prefix_list(void)
{
	return "FL, CO, CL, BK, RS, RT, SE, UC, JC and LQ";
}
