"""The one loader of the shipped reference data: every entry loads, cites its source, is a copy."""
import json
from importlib import resources

import pytest

from analysis import reference
from plasticity import ParameterError


def test_every_entry_loads_with_a_citation():
    names = reference.names()
    assert {"bi_poo_window", "sjostrom2001_frequency", "pfister_gerstner2006_triplet", "song2000",
            "izhikevich2007_dopamine", "vogels2011_inhibitory", "clopath2010_voltage", "energy_45nm"} <= set(names)
    raw = json.loads(resources.files("analysis").joinpath("data", "plasticity_data.json").read_text(encoding="utf-8"))
    for name in names:
        entry = reference.load(name)
        assert entry == raw[name]
        # every entry names its source (a paper or a simulator), or each of its parts does
        sources = [entry["source"]] if "source" in entry else [v["source"] for v in entry.values()
                                                               if isinstance(v, dict) and "source" in v]
        assert sources and all(isinstance(s, str) and len(s) > 8 for s in sources), name
        # verified: for the entry, or per parameter set (pfister_gerstner2006_triplet)
        assert isinstance(entry.get("verified"), bool) or '"verified"' in json.dumps(entry), name


def test_known_values_and_copy_semantics():
    bp = reference.load("bi_poo_window")
    assert (bp["tau_plus"], bp["tau_minus"]) == (16.8, 33.7)
    assert bp["points"]["n"] == len(bp["points"]["values"]) == 45
    bp["tau_plus"] = 0.0
    assert reference.load("bi_poo_window")["tau_plus"] == 16.8


def test_unknown_entry_names_the_known_ones():
    with pytest.raises(ParameterError, match="no entry 'nope'.*known: .*bi_poo_window") as e:
        reference.load("nope")
    assert isinstance(e.value, KeyError)                  # old callers caught KeyError
    with pytest.raises(ParameterError):
        reference.load("_about")


def test_users_read_the_same_entries():
    from analysis.energy import energy_figures
    from protocols import clopath2010, izhikevich2007, report, vogels2011

    assert energy_figures() == reference.load("energy_45nm")
    assert izhikevich2007.reference() == reference.load("izhikevich2007_dopamine")
    assert vogels2011.reference() == reference.load("vogels2011_inhibitory")
    assert clopath2010.reference()["rule"] == reference.load("clopath2010_voltage")
    assert report.load_reference("song2000") == reference.load("song2000")
