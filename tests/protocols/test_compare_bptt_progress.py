"""compare_bptt reports its progress (rule, iteration count, time left) when asked, and only then."""
from protocols import compare_bptt

TINY = compare_bptt.Config(n_rec=8, iterations=3, duration_ms=50.0, eval_every=3, align_every=3,
                           rules="bptt,ottt")


def test_progress_bar_counts_rules_times_iterations(capsys):
    compare_bptt.run(TINY, progress=True)
    err = capsys.readouterr().err
    assert "compare_bptt: 100%" in err and "6/6" in err     # 2 rules x 3 iterations
    assert "ottt (2/2)" in err


def test_quiet_by_default(capsys):
    compare_bptt.run(TINY)
    assert "compare_bptt" not in capsys.readouterr().err
