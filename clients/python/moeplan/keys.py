"""Kafka keys and decision ids, formatted exactly as the Java side formats them.

A job id is non-blank and has no ``/`` (the separator of every key that starts with a job id); a
run id is ``None`` (the job's one run) or follows the same rule.
"""


def job_id_problem(job_id):
    """Why ``job_id`` cannot be a job id, or None when it can."""
    if not isinstance(job_id, str) or not job_id.strip() or "/" in job_id:
        return f"job id must be non-blank without '/', got {job_id!r}"
    return None


def require_job_id(job_id):
    """``job_id`` itself; raises ValueError naming the rule otherwise."""
    problem = job_id_problem(job_id)
    if problem:
        raise ValueError(problem)
    return job_id


def run_id_problem(run_id):
    """Why ``run_id`` cannot be a run id, or None when it can (None is the job's one run)."""
    if run_id is None:
        return None
    if not isinstance(run_id, str) or not run_id.strip() or "/" in run_id:
        return f"run id must be None or non-blank without '/', got {run_id!r}"
    return None


def require_epoch(run_id, attempt):
    """Raises ValueError unless ``run_id`` is a run id and ``attempt`` an int >= 0."""
    problem = run_id_problem(run_id)
    if problem:
        raise ValueError(problem)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 0:
        raise ValueError(f"attempt must be an int >= 0, got {attempt!r}")


def rank_key(job_id, rank):
    """Key of an ExpertLoad record: ``jobId/rank``."""
    return f"{job_id}/{rank}"


def layer_key(job_id, layer):
    """Key of a PlanDecision (and WorkerTimes) record: ``jobId/layer``."""
    return f"{job_id}/{layer}"


def decision_id(job_id, layer, window, run_id=None, attempt=0):
    """The deterministic id of a layer's decision for ``window``.

    ``jobId/layer/window`` in the default epoch (run id None, attempt 0), and
    ``jobId/layer/window@runId.attempt`` in any other (``@.attempt`` for a resumed default run).
    """
    base = f"{job_id}/{layer}/{window}"
    if run_id is None and attempt == 0:
        return base
    require_epoch(run_id, attempt)
    return f"{base}@{run_id or ''}.{attempt}"
