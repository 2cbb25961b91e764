"""Window arithmetic of the plan-selector job: which iterations a window holds, and when its
decisions take effect.

Iterations count from 0. With a window of ``F`` iterations (the job's ``--window-iterations``,
default 10) and a lead of ``L`` iterations (``--lead-iterations``, default 2), window ``w`` holds
iterations ``[w F, w F + F - 1]`` and its decisions take effect at iteration ``w F + F - 1 + L``,
before that iteration runs.
"""

DEFAULT_WINDOW_ITERATIONS = 10
DEFAULT_LEAD_ITERATIONS = 2


def check(window_iterations, lead_iterations):
    """Raises ValueError unless the window is at least 1 iteration and the lead at least 0."""
    if window_iterations < 1 or lead_iterations < 0:
        raise ValueError(
            "window_iterations must be >= 1 and lead_iterations >= 0, got "
            f"{window_iterations}, {lead_iterations}"
        )


def window_of(iteration, window_iterations):
    """The window holding ``iteration``."""
    return iteration // window_iterations


def first_iteration(window, window_iterations):
    """The first iteration of ``window``."""
    return window * window_iterations


def last_iteration(window, window_iterations):
    """The last iteration of ``window``."""
    return window * window_iterations + window_iterations - 1


def effective_iteration(window, window_iterations, lead_iterations):
    """The first iteration that runs with the placement decided for ``window``."""
    return last_iteration(window, window_iterations) + lead_iterations


def window_effective_at(iteration, window_iterations, lead_iterations):
    """The window whose decisions take effect at ``iteration``, or -1 when no window's do."""
    end = iteration - lead_iterations + 1  # (w + 1) F
    if end < window_iterations or end % window_iterations != 0:
        return -1
    return end // window_iterations - 1


def last_window_effective_before(iteration, window_iterations, lead_iterations):
    """The newest window whose decisions took effect before ``iteration``, or -1 if none did."""
    # the largest w with effective_iteration(w) = (w + 1) F - 1 + L <= iteration - 1
    newest = (iteration - lead_iterations) // window_iterations - 1
    return newest if newest >= 0 else -1
