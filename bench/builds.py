"""The build arguments of bench/cpu_ab.py and bench/step.py: NAME=WFO[:VAR=VALUE...]."""
import os


def parse_builds(args, base_env=None):
    """Returns [(name, absolute path of WFO, environment)], in the order given. Each
    environment is a copy of `base_env` (os.environ when None) with that argument's
    VAR=VALUE pairs set over it."""
    builds = []
    for arg in args:
        name, rest = arg.split("=", 1)
        path, *pairs = rest.split(":")
        env = dict(os.environ if base_env is None else base_env)
        env.update(p.split("=", 1) for p in pairs)
        builds.append((name, os.path.abspath(path), env))
    return builds
