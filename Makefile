# The README's two commands. Both work on a fresh machine with Python >= 3.10 and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Flagship demo: the STDP window and a Song-Abbott run, figures + summary under results/.
run: $(STAMP)
	$(VENV)/bin/plab demo

# The whole fast suite, then one module again with the JIT off (kernels checked as Python).
test: $(STAMP)
	$(PY) -m pytest -q
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q tests/test_nojit.py tests/rules_ext/test_nojit_ext.py tests/reference/test_vector_exp.py tests/reference/test_fused.py

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/song2000.py

clean:
	rm -rf $(VENV) results
