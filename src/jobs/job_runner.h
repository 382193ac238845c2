/*-------------------------------------------------------------------------
 *
 * job_runner.h
 *	  Running the jobs of system.jobs, one at a time, in the worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_JOB_RUNNER_H
#define KALAM_JOB_RUNNER_H

/*
 * Mark jobs a crash (or an error of the worker's) left 'running' as
 * failed, but those whose outcomes are kept: always, or only if some were
 * left last time (their rows held) or an outcome was given up since.
 */
extern void fail_interrupted_jobs(bool always);

/* Submit the scheduled jobs that are due, and queue the new ones. */
extern void schedule_jobs(void);

/* Claim and run one job; false when there was none to run. */
extern bool run_next_job(void);

/*
 * Record the outcomes of jobs whose rows were held when they ended (a
 * kalam.cancel_job() in a transaction still open)
 */
extern void record_kept_outcomes(void);

/* Transactions of the worker, with SPI connected and a snapshot set. */
extern void worker_begin(const char *activity);
extern void worker_commit(void);

#endif							/* KALAM_JOB_RUNNER_H */
