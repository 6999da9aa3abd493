import pytest

b2 = pytest.importorskip("brian2")  # a declared dependency: present in every supported install


@pytest.fixture(autouse=True)
def fresh_brian_scope():
    """Each test builds its own explicit Network; reset the default clock and target."""
    b2.start_scope()
    old_target = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    yield
    b2.prefs.codegen.target = old_target
