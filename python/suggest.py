"""The optimizer proposer's sampler: one Optuna ask over a study rebuilt from the journal's trials.

Reads one JSON request on stdin and prints one JSON answer on stdout:

  request: {"sampler": "tpe" | "cmaes", "seed": int,
            "space": [{"name": str, "kind": "int" | "float", "low": num, "high": num, "log": bool}],
            "trials": [{"params": {name: num}, "value": num | null, "state": "complete" | "fail" | "running"}],
            "x0": {name: num} (optional: where CMA-ES starts)}
  answer:  {"params": {name: num}}

With --lines, every line of stdin is a request and every answer a line (the benchmark asks many
times without paying Python's start-up each time). The answer is a function of the request alone:
the study lives in memory, its trials are added in the request's order, and the sampler's seed is
the request's. The worker runs this file from its own checkout, never from an experiment's.
"""

import json
import sys
import warnings


def distributions(space):
    from optuna.distributions import FloatDistribution, IntDistribution

    out = {}
    for p in space:
        if p["kind"] == "int":
            out[p["name"]] = IntDistribution(int(p["low"]), int(p["high"]), log=bool(p["log"]))
        else:
            out[p["name"]] = FloatDistribution(float(p["low"]), float(p["high"]), log=bool(p["log"]))
    return out


def typed(dists, params):
    """The trial's values in the space's types; None when one is missing or outside its range."""
    out = {}
    for name, d in dists.items():
        v = params.get(name)
        if v is None:
            return None
        v = int(round(v)) if type(d).__name__ == "IntDistribution" else float(v)
        if not (d.low <= v <= d.high):
            return None
        out[name] = v
    return out


def tpe_study(optuna, request, dists):
    """TPE keeps no state between asks: every trial is added as it was, then one ask."""
    sampler = optuna.samplers.TPESampler(seed=request["seed"], multivariate=True, constant_liar=True)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    states = {"complete": optuna.trial.TrialState.COMPLETE, "fail": optuna.trial.TrialState.FAIL,
              "running": optuna.trial.TrialState.RUNNING}
    for t in request["trials"]:
        params = typed(dists, t["params"])
        if params is None:
            continue
        state = states[t["state"]]
        value = t["value"] if state == optuna.trial.TrialState.COMPLETE else None
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value, state=state))
    return study


def cmaes_study(optuna, request, dists):
    """
    CMA-ES keeps its state (mean, covariance, generation) in the trials' system attributes, so the
    history is replayed through ask and tell in order: each trial's values are enqueued, asked (the
    sampler files it under its generation) and told. The state after the replay is the one an
    uninterrupted study would have.
    """
    x0 = {k: v for k, v in (typed(dists, request.get("x0") or {}) or {}).items()} or None
    sampler = optuna.samplers.CmaEsSampler(seed=request["seed"], x0=x0, n_startup_trials=1, warn_independent_sampling=False)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    for t in request["trials"]:
        params = typed(dists, t["params"])
        if params is None or t["state"] == "running":
            continue
        study.enqueue_trial(params, skip_if_exists=False)
        trial = study.ask(dists)
        if t["state"] == "complete":
            study.tell(trial, t["value"])
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return study


def suggest(request):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = distributions(request["space"])
    if not dists:
        return {"params": {}}
    build = cmaes_study if request["sampler"] == "cmaes" else tpe_study
    study = build(optuna, request, dists)
    trial = study.ask(dists)
    return {"params": {name: trial.params[name] for name in dists}}


def main():
    warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings: stdout carries the answer alone
    if "--lines" in sys.argv[1:]:
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(suggest(json.loads(line))), flush=True)
        return
    print(json.dumps(suggest(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
