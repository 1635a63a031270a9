"""``openai:<base_url>[#<model>]``: a prompter served elsewhere, named where a weights folder would be."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError

PREFIX = "openai:"


@dataclass(frozen=True)
class RemoteSpec:
    """``openai:<base_url>[#<model>]``: where a served prompter is, in place of a weights folder."""

    base_url: str
    model: str | None = None

    @classmethod
    def parse(cls, text: str) -> RemoteSpec:
        url, _, model = str(text)[len(PREFIX) :].partition("#")
        if not url.startswith(("http://", "https://")):
            raise ModelError(
                f"'{text}' is not a served prompter: use openai:http(s)://host:port/v1[#model]", "bad_model"
            )
        return cls(url.rstrip("/"), model or None)

    def resolve(self) -> RemoteSpec:
        return self

    def __str__(self) -> str:
        return PREFIX + self.base_url + (f"#{self.model}" if self.model else "")


def is_remote(name: object) -> bool:
    """Whether ``name`` names a served prompter rather than weights."""
    return isinstance(name, RemoteSpec) or str(name).startswith(PREFIX)
