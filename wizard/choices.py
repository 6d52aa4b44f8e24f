"""The product's fixed vocabularies: sites, workspace languages and styles."""

from __future__ import annotations

from wtforms.fields.choices import SelectChoice

from .i18n import lazy_gettext as _l

SITES = {
    "cn1": _l("中国区1（杭州）"),
    "cn2": _l("中国区2（宁夏）"),
    "cn4": _l("中国区4（广州）"),
    "cn6": _l("中国区6（香港）"),
    "us1": _l("海外区1（俄勒冈）"),
    "eu1": _l("欧洲区1（法兰克福）"),
    "ap1": _l("亚太区1（新加坡）"),
}
# Where DataKit sends a site's data (Guance's DataKit install docs: DK_DATAWAY per site).
DATAWAY_URLS = {
    "cn1": "https://openway.guance.com",
    "cn2": "https://aws-openway.guance.com",
    "cn4": "https://cn4-openway.guance.com",
    "cn6": "https://cn6-openway.guance.one",
    "us1": "https://us1-openway.guance.com",
    "eu1": "https://eu1-openway.guance.one",
    "ap1": "https://ap1-openway.guance.one",
}
# Aliyun settlement defaults to the Hangzhou site.
DEFAULT_SITE = "cn1"


class Endonym(str):
    """A language's name in that language, as language pickers show it: the same words in every
    interface language, so never translated; `lang` is its tag, for a lang="..." attribute."""

    lang: str

    def __new__(cls, name: str, lang: str) -> Endonym:
        endonym = super().__new__(cls, name)
        endonym.lang = lang
        return endonym


WORKSPACE_LANGUAGES = {"zh": Endonym("中文", "zh-CN"), "en": Endonym("English", "en")}
WORKSPACE_STYLES = {"dev": _l("研发"), "ops": _l("运维"), "test": _l("测试"), "default": _l("默认")}

# R2's optional company details (更多信息); stored by key, shown by label.
INDUSTRIES = {
    "internet": _l("互联网"),
    "finance": _l("金融"),
    "manufacturing": _l("制造业"),
    "retail": _l("零售与电商"),
    "gaming": _l("游戏"),
    "education": _l("教育"),
    "healthcare": _l("医疗健康"),
    "logistics": _l("交通物流"),
    "energy": _l("能源"),
    "government": _l("政府与公共事业"),
    "other": _l("其他"),
}
COMPANY_SIZES = {
    "1-49": _l("1–49 人"),
    "50-199": _l("50–199 人"),
    "200-999": _l("200–999 人"),
    "1000-4999": _l("1000–4999 人"),
    "5000+": _l("5000 人以上"),
}

# Usage measured per workspace and hour; each entity is pushed under the marketplace key METERING_KEYS gives it.
USAGE_ENTITIES = {"data_points": _l("数据点（个）"), "api_calls": _l("API 调用（次）")}
# How an hour's push stands: 待推送, 已推送, 推送失败.
METERING_STATUSES = ("pending", "pushed", "failed")
METERING_STATUS_LABELS = {"pending": _l("待推送"), "pushed": _l("已推送"), "failed": _l("推送失败")}
# Why an hour failed or waits, by the code of its last error (services/metering.py, the market API).
METERING_REASONS = {
    "DeadlineExceeded": _l("超过推送期限：用量未能在下一小时结束前送达云市场，此小时不再计费"),
    "InvalidMetering.DeadlineExceeded": _l("超过推送期限：用量未能在下一小时结束前送达云市场，此小时不再计费"),
    "InvalidMetering.InstanceExpired": _l("实例已到期或已关闭，此后的用量不计费"),
    "Conflict": _l("云市场已按其他用量为该小时计费"),
    "InvalidMetering.Conflict": _l("云市场已按其他用量为该小时计费"),
    "Unreachable": _l("暂时无法连接云市场，将自动重试"),
    "Throttling.Instance": _l("请求过于频繁，将自动重试"),
}


def choices(vocabulary: dict) -> list[SelectChoice]:
    """Options for a WTForms SelectField or RadioField, in the vocabulary's order."""
    return [
        SelectChoice(value, label, render_kw={"lang": label.lang} if isinstance(label, Endonym) else {})
        for value, label in vocabulary.items()
    ]
