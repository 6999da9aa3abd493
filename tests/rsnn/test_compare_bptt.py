"""The compare_bptt protocol: conventions, small run, and (slow) the expected outcomes."""
import dataclasses

import numpy as np
import pytest

from plasticity.errors import ParameterError
from protocols import compare_bptt, registry
from protocols.cli import configure


def test_registered_and_follows_protocol_conventions():
    module = registry.get("compare_bptt")
    assert module is compare_bptt
    cfg = compare_bptt.Config.small()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0


def test_small_run(tmp_path):
    from protocols import store

    cfg = dataclasses.replace(compare_bptt.Config.small(), scaling_steps=(60, 240))
    result = compare_bptt.run(cfg)
    R = len(cfg.rule_list())
    assert result.train_loss.shape == (R, cfg.iterations)
    assert result.cosine.shape == (R, 2) and result.eval_metric.shape == (R, 3)
    np.testing.assert_allclose(result.cosine[0], 1.0)                 # BPTT against itself
    np.testing.assert_allclose(result.rel_norm[0], 1.0)
    assert np.all(np.abs(result.cosine) <= 1 + 1e-12)
    # every rule starts from the same weights on the same batch: the same first loss
    np.testing.assert_allclose(result.train_loss[:, 0], result.train_loss[0, 0], rtol=1e-12)
    np.testing.assert_allclose(result.eval_loss[:, 0], result.eval_loss[0, 0], rtol=1e-12)
    assert np.all(result.time_per_iter_ms > 0) and np.all(result.peak_memory_mb > 0)
    # scaling: BPTT memory grows with T, e-prop's does not
    mem = dict(zip(result.scaling_rules.split(","), result.scaling_memory_mb))
    assert mem["bptt"][1] > 2.5 * mem["bptt"][0]
    assert mem["eprop-random"][1] == pytest.approx(mem["eprop-random"][0], rel=0.05)
    text = compare_bptt.summary(result)
    assert "eprop-adaptive" in text and "scaling" in text
    figs = compare_bptt.plot(result)
    assert {"learning_curves", "gradient_alignment", "cost", "readout", "raster", "scaling"} <= set(figs)
    path = store.save_run("compare_bptt", cfg, result, figs, text, root=tmp_path)
    assert (path / "learning_curves.png").exists()


def test_classification_small_run():
    cfg = compare_bptt.Config(task="evidence", rules="bptt,eprop-random", n_rec=12, iterations=2, batch=4,
                              delay_ms=50.0, eval_batch=8, eval_every=1, align_every=1)
    result = compare_bptt.run(cfg)
    assert result.metric_name == "accuracy"
    assert np.all((result.eval_metric >= 0) & (result.eval_metric <= 1))
    assert result.y_eval.shape[2] == 2 and result.provenance["n_alif"] == 6


def test_config_validation():
    with pytest.raises(ParameterError, match="unknown rule"):
        compare_bptt.Config(rules="bptt,backprop")
    with pytest.raises(ParameterError, match="task"):
        compare_bptt.Config(task="xor")
    with pytest.raises(ParameterError, match="iterations"):
        compare_bptt.Config(iterations=0)
    with pytest.raises(ParameterError, match="repeat"):
        compare_bptt.Config(rules="bptt,bptt")
    cfg = configure(compare_bptt.Config(), assignments=["task=evidence", "rules=bptt,eprop-random"])
    assert cfg.task == "evidence" and cfg.rule_list() == ["bptt", "eprop-random"]


@pytest.mark.slow
def test_pattern_generation_eprop_close_to_bptt():
    """Bellec et al. 2020 Fig. 2: e-prop reaches a normalized MSE within a small factor of BPTT's."""
    cfg = compare_bptt.Config(rules="bptt,eprop-random,eprop-symmetric", iterations=200, eval_every=50,
                              align_every=50)
    result = compare_bptt.run(cfg)
    nmse = dict(zip(result.rule_names(), result.eval_metric[:, -1]))
    assert nmse["bptt"] < 0.05
    assert nmse["eprop-random"] < 4 * nmse["bptt"] and nmse["eprop-symmetric"] < 4 * nmse["bptt"]


@pytest.mark.slow
def test_evidence_accumulation_alif_eprop_beats_chance():
    """Bellec et al. 2020 Fig. 3, shortened (3 cues, 200 ms delay, 60 neurons of which 30 ALIF):
    ALIF + e-prop with random feedback learns the evidence-accumulation task (chance 0.5)."""
    cfg = compare_bptt.Config(task="evidence", rules="eprop-random", iterations=150, eval_every=50,
                              align_every=50, n_cues=3, delay_ms=200.0, n_rec=60, lr=1e-2, c_reg=1e-3)
    result = compare_bptt.run(cfg)
    assert result.eval_metric[0, -1] > 0.7


def test_brian2_backend_is_refused_not_faked():
    """The RSNN kernels are native: asking for Brian2 must not run them and record 'brian2'."""
    import pytest

    from plasticity import ParameterError
    from protocols import compare_bptt

    with pytest.raises(ParameterError, match="backend must be 'native' for compare_bptt"):
        compare_bptt.run(compare_bptt.Config.small(), backend="brian2")
