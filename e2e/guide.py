"""The activation guide, in our own words and both languages, around the screenshots the browser run takes.

`python -m e2e.guide` (run by `make screenshots`) writes docs/activation-aliyun.md and
docs/activation-aliyun.en.md; e2e/test_docs.py takes every screenshot this guide shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Step:
    zh: str
    en: str
    image: str | None = None
    level: int = 0  # 0: a paragraph; 2 or 3: a heading of that level


@dataclass(frozen=True)
class Guide:
    title: dict
    steps: list[Step] = field(default_factory=list)


def h(level: int, zh: str, en: str) -> Step:
    return Step(zh, en, level=level)


GUIDE = Guide(
    title={
        "zh": "阿里云云市场开通观测云商业版",
        "en": "Activating Guance Commercial Edition from Alibaba Cloud Marketplace",
    },
    steps=[
        Step(
            "在阿里云云市场购买观测云之后，按下面的步骤开通观测云商业版：从云市场免登进入观测云，注册或绑定费用中心账号，"
            "绑定或创建工作空间，最后用观测云账号登录。以下截图来自本项目的云市场模拟器和观测云开通向导。",
            "After buying Guance on Alibaba Cloud Marketplace, activate the Commercial Edition as follows: go from "
            "the marketplace to Guance with Login-free, register or bind a Billing Center Account, bind or create a "
            "workspace, then log in with your Guance account. The screenshots come from this project's marketplace "
            "simulator and Guance activation wizard.",
        ),
        h(2, "购买观测云", "Buy Guance"),
        Step(
            "打开云市场的观测云商品页，点击「立即开通」。",
            "Open the Guance product page on the marketplace and click **Activate Now**.",
            "2-commercial-1107",
        ),
        Step(
            "在「开通按量服务」对话框中阅读并勾选服务协议，点击「开通」。不勾选协议无法开通。",
            "In the **Activate Pay-as-you-go Service** dialog, read and accept the agreement, then click "
            "**Activate**. Without the agreement nothing is ordered.",
            "3-commercial-1107",
        ),
        Step(
            "对话框提示「开通申请已提交」。点击「确认」前往「已购买的服务」。",
            "The dialog confirms **Activation Request Submitted**. Click **Confirm** to go to **Purchased Services**.",
            "4-commercial-1107",
        ),
        Step(
            "「已购买的服务」列出新的观测云实例及其实例 ID。点击实例右侧的「免登」直接进入观测云，无需再次登录。",
            "**Purchased Services** lists the new Guance instance with its instance ID. Click **Login-free** on its "
            "row to go straight to Guance without signing in again.",
            "10.aliyun_market_1",
        ),
        h(2, "选择开通方式", "Choose how to activate"),
        Step(
            "如果这个阿里云账号还没有绑定观测云费用中心账号，观测云会请您选择：没有费用中心账号时先注册，"
            "已有费用中心账号时直接绑定。",
            "If this Alibaba Cloud account is not yet bound to a Guance Billing Center Account, Guance asks you to "
            "choose: register if you have no Billing Center Account, or bind the one you have.",
            "10.aliyun_market_2",
        ),
        Step(
            "费用中心账号是观测云用来管理商业版计费的独立账号，一个费用中心账号可以为多个工作空间结算。整体流程如下：",
            "A Billing Center Account is the separate account Guance uses for Commercial Edition billing; one "
            "Billing Center Account can pay for many workspaces. The whole process:",
            "17.process_1",
        ),
        h(2, "没有费用中心账号：注册", "No Billing Center Account: register"),
        Step(
            "选择「没有费用中心账号」并点击「下一步」，填写基本信息：站点、用户名、登录密码、邮箱（点击「获取验证码」后填入邮件中的验证码）"
            "和手机号。下一步填写企业信息并同意协议，点击「注册」即创建观测云账号。",
            "Choose **No Billing Center Account** and click **Next**. Fill in the basic information: site, "
            "username, password, email (click **Get Code** and type the code from the email) and mobile number. "
            "Then enter your company information, accept the agreement and click **Register**: your Guance account "
            "is created.",
            "10.aliyun_market_3",
        ),
        Step(
            "最后一步选择「阿里云市场开通」，填写工作空间名称、语言和风格；账号 ID 和商品实例 ID 已自动带入。保持勾选"
            "「同步创建费用中心账号」并点击「开通」：费用中心账号（与观测云账号同用户名和密码）、阿里云账号绑定、"
            "工作空间和实例绑定一次完成。",
            "In the last step, **Activate via Alibaba Cloud Marketplace** is selected; enter the workspace name, "
            "language and style — the account ID and instance ID are filled in for you. Keep **Create a Billing "
            "Center Account at the Same Time** ticked and click **Activate**: the Billing Center Account (same "
            "username and password), the binding of your Alibaba Cloud account, the workspace and the instance "
            "binding are all done at once.",
        ),
        h(2, "已有费用中心账号：绑定", "With a Billing Center Account: bind"),
        Step(
            "选择「有费用中心账号」并点击「下一步」，进入「绑定观测云工作空间」。第一次进入时会显示如何快速绑定的说明，"
            "点击「知道了」关闭。右上角的站点决定之后新建工作空间所在的站点。",
            "Choose **Have a Billing Center Account** and click **Next** to open **Bind Guance Workspace**. On the "
            "first visit a short guide explains the steps; close it with **Got It**. The site at the top right is "
            "where workspaces you create next will live.",
            "15.aliyun_register_1",
        ),
        h(3, "① 绑定费用中心账号", "① Bind the Billing Center Account"),
        Step(
            "输入费用中心账号的用户名，点击「获取验证码」，验证码会发送到该账号的邮箱。填入验证码后点击「绑定」。",
            "Enter the Billing Center Account's username and click **Get Code**; the code goes to that account's "
            "email. Type it and click **Bind**.",
            "10.market_aliyun_1",
        ),
        h(3, "② 绑定工作空间", "② Bind a workspace"),
        Step(
            "页面列出该费用中心账号下的工作空间。可绑定的工作空间右侧有「绑定」，点击后在确认框中点击「确定」。"
            "已通过其他阿里云实例结算的工作空间不能再绑定。",
            "The page lists the Billing Center Account's workspaces. Click **Bind** on a bindable one, then "
            "**Confirm** in the confirmation. A workspace already settled through another Alibaba Cloud instance cannot "
            "be bound again.",
            "15.aliyun_register_6.1",
        ),
        Step(
            "回到「绑定观测云工作空间」，工作空间显示「已绑定」。点击「确定」。",
            "Back on **Bind Guance Workspace**, the workspace shows **Bound**. Click **Confirm**.",
            "15.aliyun_register_6",
        ),
        h(3, "创建工作空间", "Create a workspace"),
        Step(
            "没有可绑定的工作空间时，点击「立即创建工作空间」。已有观测云账号时选择「有观测云账号」：",
            "With no bindable workspace, click **Create Workspace Now**. If you already have a Guance account, "
            "choose **Have a Guance Account**:",
            "1-1-commercial-aliyun",
        ),
        Step(
            "填写工作空间名称，选择语言和风格，输入注册观测云账号时使用的邮箱，获取并填入验证码，同意协议后点击「创建」。"
            "创建后回到绑定页面，新工作空间显示「已选择」。",
            "Enter the workspace name, choose its language and style, enter the email of your Guance account, get "
            "and type the code, accept the agreement and click **Create**. Back on the bind page, the new "
            "workspace shows **Selected**.",
            "15.aliyun_register_5",
        ),
        Step(
            "还没有观测云账号时选择「没有观测云账号」：",
            "If you have no Guance account yet, choose **No Guance Account**:",
            "1-2-commercial-aliyun",
        ),
        Step(
            "填写工作空间名称和语言，以及新观测云账号的用户名、密码、邮箱和验证码（手机号选填），同意协议后点击"
            "「注册并创建工作空间」。账号和工作空间一次创建完成，并绑定到实例。",
            "Enter the workspace name and language and the new account's username, password, email and code "
            "(mobile number optional), accept the agreement and click **Register and Create Workspace**. The "
            "account and the workspace are created together and bound to the instance.",
            "15.aliyun_register_3",
        ),
        h(2, "开通成功", "Activated"),
        Step(
            "点击「确定」后显示「开通成功」，列出工作空间、费用中心账号、阿里云账号 ID 和商品实例 ID。",
            "After **Confirm**, **Activated successfully** lists the workspace, the Billing Center Account, the "
            "Alibaba Cloud account ID and the instance ID.",
            "15.aliyun_register_7",
        ),
        Step(
            "再点击「确定」前往观测云登录页（/login/pwd），选择站点并用观测云账号登录。首页显示工作空间、商业版、"
            "阿里云账号结算信息，以及「从安装 DataKit 开始」。",
            "Click **Confirm** again to go to the Guance login page (/login/pwd); choose the site and log in with your "
            "Guance account. The first page shows the workspace, Commercial Edition, the Alibaba Cloud settlement "
            "and **Start with Installing DataKit**.",
            "1-free-start-1109",
        ),
        Step(
            "之后再从「已购买的服务」点击「免登」，会直接进入「开通成功」页面。",
            "Later, **Login-free** from **Purchased Services** goes straight to the success page.",
        ),
        h(2, "实例到期之后：锁定倒计时与解锁", "After the instance expires: the lock countdown and unlocking"),
        Step(
            "阿里云商品实例到期后，通过它结算的工作空间进入 14 天的锁定倒计时，工作空间所有者和费用中心账号会收到邮件，"
            "到期前 7 天和 1 天还会再次提醒。此时从「已购买的服务」点击「免登」，会看到锁定页面：剩余天数、锁定时间，"
            "以及倒计时结束后会发生什么——工作空间被锁定，其数据被删除且无法恢复。",
            "When the Alibaba Cloud instance expires, the workspace settled through it enters a 14-day lock countdown: "
            "the workspace owner and the Billing Center Account are emailed, and reminded 7 days and 1 day before the "
            "end. **Login-free** from **Purchased Services** now shows the lock page: the days left, the lock time, and "
            "what happens at the end — the workspace is locked and its data deleted for good.",
            "x1-lock-page",
        ),
        Step(
            "倒计时期间，成员仍可登录观测云查看工作空间的历史数据；控制台顶部的横幅提示剩余天数，并提供「立即解锁」。",
            "During the countdown, members can still log in to Guance and view the workspace's history; a banner at "
            "the top of the console shows the days left and offers **Unlock Now**.",
            "x1-lock-banner",
        ),
        Step(
            "「立即解锁」打开解锁页面（一次性链接，无需再次登录）：在阿里云云市场为实例续费，或改为费用中心账号结算"
            "（费用中心账号通过邮件验证码确认）。任一方式完成后，工作空间立即解锁。不再需要工作空间时，所有者可以在锁定页面"
            "输入工作空间名称将其「解散」。",
            "**Unlock Now** opens the unlock page (a single-use link, no second login): renew the instance on Alibaba "
            "Cloud Marketplace, or switch to Billing Center Account settlement (the Billing Center Account confirms "
            "with an emailed code). Either way, the workspace unlocks at once. If the workspace is no longer needed, "
            "its owner can **Dissolve** it from the lock page by typing its name.",
            "x3-unlock-choices",
        ),
        Step(
            "在「已购买的服务」中「关闭」实例后，通过它结算的工作空间转为费用中心账号结算（锁定倒计时随之结束），"
            "工作空间所有者会收到邮件；数据和成员不受影响。",
            "When the instance is closed under **Purchased Services**, the workspace settled through it falls back to "
            "Billing Center Account settlement (ending any lock countdown) and its owner is emailed; its data and "
            "members are not affected.",
        ),
    ],
)

SCREENSHOTS = [step.image for step in GUIDE.steps if step.image]


def render(language: str) -> str:
    lines = [f"# {GUIDE.title[language]}", ""]
    for step in GUIDE.steps:
        text = getattr(step, language)
        if step.level:
            lines += ["#" * step.level + " " + text, ""]
            continue
        lines += [text, ""]
        if step.image:
            lines += [f"![{step.image}](../e2e/screenshots/{language}/{step.image}.png)", ""]
    return "\n".join(lines).rstrip() + "\n"


def write() -> list[Path]:
    DOCS.mkdir(exist_ok=True)
    written = []
    for language, name in (("zh", "activation-aliyun.md"), ("en", "activation-aliyun.en.md")):
        (DOCS / name).write_text(render(language), encoding="utf-8")
        written.append(DOCS / name)
    return written


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")
