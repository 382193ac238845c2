/*-------------------------------------------------------------------------
 *
 * job_prefix.h
 *	  The job types and the two-letter prefixes of their job ids.
 *
 *-------------------------------------------------------------------------
 */
#ifndef JOB_PREFIX_H
#define JOB_PREFIX_H

/* Index of the job type whose prefix is the first two bytes, or -1. */
extern int	job_prefix_lookup(const char *two_bytes);

/* Index of the job type with this kalam.job_type label, or -1. */
extern int	job_type_lookup(const char *label);

extern const char *job_type_label(int index);
extern const char *job_type_prefix(int index);

/* "FL, CO, ..." for messages */
extern const char *job_prefix_list(void);

#endif							/* JOB_PREFIX_H */
