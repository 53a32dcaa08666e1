"""The image after a build: every layer's size as a bar, its instruction, cached or rebuilt."""

from __future__ import annotations

import re

from textual.content import Content
from textual.widgets import Static

from tutor.app.display import human_size, instruction_text
from tutor.engine.report import BuildResult

BAR_WIDTH = 16
_HASH = re.compile(r"\b((?:file|dir|sha256):[0-9a-f]{8})[0-9a-f]{24,}")


class LayerChart(Static):
    def show(self, build: BuildResult | None) -> None:
        if build is None or not build.ok or build.skipped or not build.layers:
            self.update("No image yet. Check the exercise (ctrl+r) to build it and see its layers.")
            return
        largest = max(layer.size for layer in build.layers) or 1
        if build.reused:
            cache = ": the image of your last check, used again (nothing changed, so no build ran)"
        elif build.steps_total:
            cache = f", {build.steps_cached} of {build.steps_total} build steps reused from the cache"
        else:
            cache = ""
        lines = [
            Content.from_markup(
                "[b]$size[/b] in $count layers$cache\n",
                size=human_size(build.image_size),
                count=str(len(build.layers)),
                cache=cache,
            )
        ]
        for layer in build.layers:
            filled = round(layer.size / largest * BAR_WIDTH) if layer.size else 0
            bar = "█" * filled + "·" * (BAR_WIDTH - filled)
            origin = "base" if not layer.instruction else "cached" if layer.cached else "rebuilt"
            # The engine records COPY sources by content hash; the first few digits are enough.
            instruction = _HASH.sub(lambda m: m.group(1) + "…", instruction_text(layer.instruction))
            instruction = instruction or "layers of the FROM image"
            lines.append(
                Content.from_markup(
                    "[$accent]$bar[/] $size [$text-muted]$origin[/] $instruction",
                    bar=bar,
                    size=f"{human_size(layer.size):>8}",
                    origin=f"{origin:<7}",
                    instruction=instruction,
                )
            )
        self.update(Content("\n").join(lines))
