"""``acme-like pipeline FILE.py``: import a file that builds a Pipeline and run it.

The file builds the pipeline at module level and does not run it (a run under
``if __name__ == "__main__":`` is fine: it is not executed here). It is imported
under its own name, with its folder on the module path, so workers import its
stage functions by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import exits
from .exits import UsageError
from .funcspec import _load_file


def run_pipeline(file: str, name: str | None, off: list[str], dryrun: bool) -> int:
    """Run (or preview) the pipeline ``file`` defines; the command's exit status."""
    from acme_like import ClusterError, Pipeline, PipelineError

    path = Path(file)
    if path.suffix != ".py" or not path.is_file():
        raise UsageError(f"{file} is not a .py file. Pass the Python file that builds the pipeline, e.g. analysis_pipeline.py.")
    module = _load_file(path.resolve())
    found = {key: value for key, value in vars(module).items() if isinstance(value, Pipeline)}
    if name is not None:
        if name not in found:
            raise UsageError(f"{file} defines no pipeline named {name!r}; it defines {sorted(found) or 'none'}.")
        pipeline = found[name]
    elif len(found) == 1:
        pipeline = next(iter(found.values()))
    else:
        raise UsageError(
            f"{file} defines {'no' if not found else len(found)} acme_like.Pipeline objects at module level"
            + (f" ({', '.join(sorted(found))}): pass --name VARIABLE." if found else ": build one there (pipe = Pipeline(...)).")
        )
    names = [stage.name for stage in pipeline.stages]
    unknown = [stage for stage in off if stage not in names]
    if unknown:
        raise UsageError(f"--off {unknown[0]}: the pipeline's stages are {', '.join(names)}.")
    active = {stage: False for stage in off}
    try:
        if dryrun:
            previews = pipeline.dry_run(active)
            for preview in previews:
                print(preview)
            return exits.USAGE if any(p.problem for p in previews if not p.active) else exits.OK
        pipeline.run(active)
    except PipelineError as exc:
        print(f"acme-like pipeline: {exc}", file=sys.stderr)
        return exits.CALLS_FAILED if exc.failed else exits.USAGE
    except ClusterError as exc:
        print(f"acme-like pipeline: the cluster could not be used: {exc}", file=sys.stderr)
        return exits.INFRASTRUCTURE
    except KeyboardInterrupt:
        print("\nacme-like pipeline: interrupted; finished results are kept. Run the same command again to resume.", file=sys.stderr)
        return exits.INTERRUPTED
    for stage in pipeline.stages:
        print(f"stage {stage.name}: {len(stage.results) if isinstance(stage.results, list) else 1} results in {pipeline.workspace / stage.name}")
    return exits.OK
