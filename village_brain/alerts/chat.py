"""Group-chat robots village staff read: DingTalk, WeCom (企业微信) and Feishu (飞书).

Each turns the webhook body into the robot's message format, signs it the robot's way, and
says from the robot's answer whether the message was taken: these robots answer HTTP 200
with an error code in the body when they refuse a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from village_brain.alerts.signing import dingtalk_sign, feishu_sign

SEVERITY_WORDS = {
    "critical": "紧急",
    "major": "严重",
    "minor": "次要",
    "warning": "警告",
    "info": "提示",
}
EVENT_WORDS = {
    "alert.firing": "告警",
    "alert.acknowledged": "已确认",
    "alert.resolved": "已恢复",
}


def title(body: dict[str, Any]) -> str:
    data = body["data"]
    state = "仍在告警" if data.get("reminder") else EVENT_WORDS.get(body["type"], body["type"])
    severity = SEVERITY_WORDS.get(data["severity"], data["severity"])
    return f"【{severity}·{state}】{data['rule_name']}"


def lines(body: dict[str, Any]) -> list[str]:
    data = body["data"]
    where = " ".join(p for p in (data["village"], data["place"], data["device_name"]) if p)
    out = [data["message"], f"设备：{data['device']}（{where}）" if where else data["device"]]
    if data.get("lat") is not None and data.get("lon") is not None:
        out.append(f"位置：{data['lat']:.5f}, {data['lon']:.5f}")
    if data.get("acked_by"):
        out.append(f"确认人：{data['acked_by']} {data.get('ack_comment') or ''}".rstrip())
    out.append(f"时间：{body['timestamp']}")
    return out


def dingtalk(url: str, secret: str, body: dict[str, Any], now_ms: int) -> tuple[str, Any]:
    if secret:
        sign = quote(dingtalk_sign(secret, now_ms), safe="")
        url = f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={sign}"
    text = "\n\n".join([f"### {title(body)}", *lines(body), f"[查看设备]({body['data']['link']})"])
    return url, {"msgtype": "markdown", "markdown": {"title": title(body), "text": text}}


def wecom(url: str, _secret: str, body: dict[str, Any], _now_ms: int) -> tuple[str, Any]:
    text = "\n".join([f"**{title(body)}**", *lines(body), f"[查看设备]({body['data']['link']})"])
    return url, {"msgtype": "markdown", "markdown": {"content": text}}


def feishu(url: str, secret: str, body: dict[str, Any], now_ms: int) -> tuple[str, Any]:
    text = "\n".join([title(body), *lines(body), body["data"]["link"]])
    message: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
    if secret:
        now_s = now_ms // 1000
        message = {"timestamp": str(now_s), "sign": feishu_sign(secret, now_s), **message}
    return url, message


FORMATTERS = {"dingtalk": dingtalk, "wecom": wecom, "feishu": feishu}


def refusal(answer: Any) -> str | None:
    """The robot's reason for refusing a message, or None when it took it."""
    if not isinstance(answer, dict):
        return "the robot did not answer with JSON"
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, None):
        return None
    reason = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return f"the robot refused the message: {code} {reason}".strip()
