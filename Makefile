# Civic Signal. `make run` and `make test` install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast train bench kafka-up kafka-down clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/civic-signal run

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -q -m "not kafka and not postgres and not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# One Apache Kafka broker (KRaft) on 127.0.0.1 for development; see docs/kafka.md.
KAFKA_DIR ?= var/kafka

kafka-up:
	scripts/kafka.sh up $(KAFKA_DIR)
	@echo "export CIVIC_BUS__KIND=kafka CIVIC_KAFKA__BOOTSTRAP_SERVERS=$$(cat $(KAFKA_DIR)/bootstrap)"

kafka-down:
	scripts/kafka.sh down $(KAFKA_DIR)

# Rebuild the shipped gazetteer (classifiers/data/gazetteer/) from the shared data, deterministically.
SHARED_DATA ?= ../shared/data
.PHONY: gazetteer jurisdictions jurisdiction-eval
gazetteer: install
	$(BIN)/python scripts/build_gazetteer.py --data $(SHARED_DATA)

# Jurisdiction packs (docs/jurisdictions.md): rebuild the shipped ones from the open data; routing figures.
jurisdictions: install
	$(BIN)/civic-signal jurisdiction build boston --data $(SHARED_DATA)
	$(BIN)/civic-signal jurisdiction build cambridge --data $(SHARED_DATA)

jurisdiction-eval: install
	CIVIC_SHARED_DATA=$(SHARED_DATA) $(BIN)/python scripts/jurisdiction_eval.py

# The classifier (docs/classifier.md). train-data needs the shared data ($(SHARED_DATA): the Open311 dump,
# civic_reports/, cambridge/);
# train rebuilds civic_signal/classifiers/model/ from what is committed in civic_signal/classifiers/data/, deterministically.
.PHONY: train-data classifier-eval
train-data: install
	$(BIN)/python scripts/build_training_data.py --data $(SHARED_DATA) --out civic_signal/classifiers/data

train: install
	$(BIN)/python scripts/train_classifier.py

classifier-eval: install
	$(BIN)/civic-signal eval --kind spacy civic_signal/classifiers/data/heldout_2018.jsonl
	$(BIN)/civic-signal eval --kind spacy civic_signal/classifiers/data/handwritten_eval.jsonl
	$(BIN)/civic-signal eval --kind spacy civic_signal/classifiers/data/written_heldout.jsonl
	$(BIN)/civic-signal eval --kind spacy civic_signal/classifiers/data/written_blind.jsonl

# Expected volumes (docs/forecast.md): the prior from the shared Open311 dump, deterministically,
# and the held-out evaluation (aggregates cached under var/forecast/).
.PHONY: forecast-prior forecast-eval
forecast-prior: install
	$(BIN)/python scripts/build_forecast_prior.py --data $(SHARED_DATA)

forecast-eval: install
	$(BIN)/python scripts/evaluate_forecast.py --data $(SHARED_DATA)

# Leave-one-source-out over the labelled real reports, plus Boston by date (trains one model per fold).
.PHONY: classifier-cross-eval
classifier-cross-eval: install
	$(BIN)/civic-signal eval --cross-source
