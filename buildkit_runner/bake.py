"""A plan as a docker-bake.json, so a project can fall back to plain ``docker buildx bake``.

Built from the plan's steps, so tags, platforms and cache refs are the ones ``bkrun build``
would use for this commit. ``depends-on`` becomes a ``target:<name>`` context: bake builds
the dependency first and passes its result, as bkrun does with a digest-pinned context.
Paths are relative to the project root: run bake from there.
"""

from __future__ import annotations

import os
from typing import Any

from buildkit_runner.config import Config
from buildkit_runner.plan import BuildStep, Plan, digest_placeholder


def bake_file(config: Config, plan: Plan) -> dict[str, Any]:
    targets = {step.image: _target(config, step) for step in plan.steps}
    return {"group": {"default": {"targets": list(targets)}}, "target": targets}


def _target(config: Config, step: BuildStep) -> dict[str, Any]:
    image = config.images[step.image]
    target: dict[str, Any] = {
        "context": image.context,
        # bake reads the Dockerfile path relative to the context, bkrun relative to the root.
        "dockerfile": os.path.relpath(image.dockerfile, image.context),
        "tags": list(step.refs),
    }
    if image.target:
        target["target"] = image.target
    if step.platforms:
        target["platforms"] = list(step.platforms)
    # Templates ({{sha}}) are filled in the plan: take the values from the step.
    if step.build_args:
        target["args"] = dict(step.build_args)
    # A dependency's digest is known only once bake has built it, and bake would read the
    # ${base.digest} placeholder as its own interpolation: drop labels and annotations with it.
    placeholders = [digest_placeholder(name) for name in step.depends_on]
    labels = {k: v for k, v in step.labels if not any(h in v for h in placeholders)}
    if labels:
        target["labels"] = labels
    annotations = [
        p.args[1]
        for p in step.parts
        if p.args[0] == "--annotation" and not any(h in p.args[1] for h in placeholders)
    ]
    if annotations:
        target["annotations"] = annotations
    if image.secrets:
        target["secret"] = [_secret(s) for s in image.secrets]
    if step.depends_on:
        target["contexts"] = {name: f"target:{name}" for name in step.depends_on}
    if step.cache_from:
        target["cache-from"] = list(step.cache_from)
    if step.cache_to:
        target["cache-to"] = list(step.cache_to)
    mode = "mode=min" if image.provenance else "disabled=true"
    target["attest"] = [f"type=provenance,{mode}"]
    if step.push:
        target["output"] = ["type=registry"]
    return target


def _secret(secret: Any) -> str:
    if secret.env:
        return f"id={secret.id},env={secret.env}"
    if secret.src:
        return f"id={secret.id},src={secret.src}"
    return f"id={secret.id}"
