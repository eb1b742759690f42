"""The offline judges as a LiteLLM custom provider, so they take the same path as remote judges.

Imported only by ``judges.bootstrap_litellm`` (it needs LiteLLM). The verdicts themselves come
from ``judge.offline.verdicts``; this adapter only speaks LiteLLM's provider interface.
"""

from __future__ import annotations

from typing import Any

from litellm import CustomLLM, ModelResponse, Usage
from litellm.llms.custom_llm import CustomLLMError

from judge.inputs.config import OFFLINE_MODELS


def _estimate_tokens(text: str) -> int:
    # Offline judges cost nothing; a rough count keeps token columns comparable across judges.
    return max(1, len(text) // 4)


class OfflineProvider(CustomLLM):
    """``offline/<name>``: deterministic heuristic judges computed from the prompt's text blocks."""

    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        raise CustomLLMError(status_code=400, message="offline judges are async only; use acompletion")

    async def acompletion(  # type: ignore[override]
        self,
        model: str,
        messages: list,
        api_base: str,
        custom_prompt_dict: dict,
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict,
        *args: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        from judge.offline.verdicts import respond

        name = model.split("/", 1)[1] if model.startswith("offline/") else model
        if name not in OFFLINE_MODELS:
            raise CustomLLMError(status_code=404, message=f"unknown offline judge '{name}'")
        fmt = optional_params.get("response_format") or {}
        rubric_id = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None
        if not rubric_id:
            raise CustomLLMError(
                status_code=400, message="offline judges need response_format json_schema naming the rubric"
            )
        try:
            text = respond(name, rubric_id, messages)
        except ValueError as exc:
            raise CustomLLMError(status_code=400, message=str(exc)) from None
        prompt_tokens = sum(_estimate_tokens(str(m.get("content", ""))) for m in messages)
        completion_tokens = _estimate_tokens(text)
        model_response.choices[0].message.content = text  # type: ignore[union-attr]
        model_response.model = f"offline/{name}"
        model_response.usage = Usage(  # type: ignore[attr-defined]
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return model_response
