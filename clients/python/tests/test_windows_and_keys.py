import pytest

from moeplan import keys, windows


def test_a_window_holds_f_iterations_and_takes_effect_lead_after_its_last():
    assert windows.window_of(19, 10) == 1
    assert windows.first_iteration(1, 10) == 10
    assert windows.last_iteration(1, 10) == 19
    assert windows.effective_iteration(1, 10, 2) == 21
    assert windows.window_effective_at(21, 10, 2) == 1
    assert windows.window_effective_at(11, 10, 2) == 0
    assert [i for i in range(40) if windows.window_effective_at(i, 10, 2) >= 0] == [11, 21, 31]


@pytest.mark.parametrize("window_iterations,lead", [(10, 2), (1, 0), (5, 7), (3, 1)])
def test_the_last_window_effective_before_an_iteration_matches_a_search(window_iterations, lead):
    for iteration in range(60):
        expected = max(
            (
                windows.window_effective_at(i, window_iterations, lead)
                for i in range(iteration)
            ),
            default=-1,
        )
        got = windows.last_window_effective_before(iteration, window_iterations, lead)
        assert got == expected, iteration


def test_keys_and_decision_ids_are_formatted_as_the_java_side_formats_them():
    assert keys.rank_key("gpt", 3) == "gpt/3"
    assert keys.layer_key("gpt", 5) == "gpt/5"
    assert keys.decision_id("gpt", 5, 420) == "gpt/5/420"
    assert keys.decision_id("gpt", 5, 420, "run-b", 2) == "gpt/5/420@run-b.2"
    assert keys.decision_id("gpt", 5, 420, None, 1) == "gpt/5/420@.1"


@pytest.mark.parametrize("job_id", ["", "  ", "a/b", None, 7])
def test_a_job_id_must_be_non_blank_without_a_slash(job_id):
    with pytest.raises(ValueError, match="job id must be non-blank without '/'"):
        keys.require_job_id(job_id)


def test_an_epoch_needs_a_valid_run_id_and_a_non_negative_attempt():
    keys.require_epoch(None, 0)
    keys.require_epoch("run-2", 3)
    with pytest.raises(ValueError, match="run id"):
        keys.require_epoch("a/b", 0)
    with pytest.raises(ValueError, match="attempt"):
        keys.require_epoch(None, -1)
