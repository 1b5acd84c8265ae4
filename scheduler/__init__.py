"""Scheduled jobs, one package per module (each module declares its jobs in bot/modules). The database is the
source of truth: jobs carry ids, claim due rows atomically, and can run in several processes without doing the
same work twice. APScheduler (through PTB's JobQueue) only drives the ticks and the daily times."""
