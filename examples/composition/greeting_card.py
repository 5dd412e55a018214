"""The seed's greeting-card composition with small stand-ins for the large models.

StableLM, SDXL-Turbo and XTTS are replaced by a few lines each, but the wiring is the one a user writes:
three services reached with ``bento.depends``, an async entry that awaits an async dependency and runs two
sync ones concurrently with ``.to_async`` and ``asyncio.gather``, arrays and files crossing process
boundaries. ``bento serve greeting_card.py:GreetingCardService`` runs each service in its own workers.
"""

from __future__ import annotations

import asyncio
import os
import wave
import zipfile
from pathlib import Path
from typing import Annotated

import numpy as np

import bentoml


@bentoml.service(resources={"cpu": "1"}, traffic={"timeout": 30})
class StableLMService:
    """Stand-in for an LLM that rewrites a short message."""

    @bentoml.api
    async def enhance_message(self, message: str) -> str:
        await asyncio.sleep(0)  # an async engine would await its generation here
        return f"{message.strip().rstrip('!')}! Wishing you joy, health and many happy moments."


@bentoml.service(workers=2, traffic={"timeout": 30})
class SDXLTurboService:
    """Stand-in for a text-to-image model: a deterministic RGB image from the prompt."""

    @bentoml.api
    def txt2img(self, prompt: str, size: int = 64) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(prompt)) % (2**32))
        return rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)


@bentoml.service(traffic={"timeout": 30})
class XTTSService:
    """Stand-in for text-to-speech: a WAV file with one beep per word."""

    @bentoml.api
    def synthesize(self, context: bentoml.Context, text: str, lang: str = "en") -> Path:
        rate = 8000
        tone = np.sin(np.linspace(0, 440 * 2 * np.pi * 0.1, int(rate * 0.1)))
        samples = np.concatenate([tone for _ in text.split()] or [tone])
        path = Path(context.temp_dir) / "output.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes((samples * 32767).astype("<i2").tobytes())
        return path


@bentoml.service(traffic={"timeout": 60}, resources={"cpu": "1", "memory": "1Gi"})
class GreetingCardService:
    stablelm = bentoml.depends(StableLMService)
    sdxl = bentoml.depends(SDXLTurboService)
    xtts = bentoml.depends(XTTSService)

    @bentoml.api
    async def generate_card(
        self,
        context: bentoml.Context,
        message: str = "Happy new year!",
    ) -> Annotated[Path, bentoml.validators.ContentType("application/zip")]:
        greeting_message = await self.stablelm.enhance_message(message)

        sdxl_prompt_tmpl = "a happy and heart-warming greeting card based on greeting message {message}"
        sdxl_prompt = sdxl_prompt_tmpl.format(message=greeting_message)

        # Run `txt2img` and `synthesize` operations in parallel
        image, audio_path = await asyncio.gather(
            self.sdxl.to_async.txt2img(sdxl_prompt),
            self.xtts.to_async.synthesize(greeting_message),
        )

        # The original muxes a video with ffmpeg; the stand-in packs the parts into one archive.
        output_path = os.path.join(context.temp_dir, "card.zip")
        with zipfile.ZipFile(output_path, "w") as card:
            card.writestr("message.txt", greeting_message)
            with card.open("image.npy", "w") as f:
                np.save(f, image)
            card.write(audio_path, "audio.wav")
        return Path(output_path)
