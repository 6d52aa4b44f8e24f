"""The activation guide, in our own words and both languages, around the screenshots the browser run takes.

`python -m e2e.guide` (run by `make screenshots`) writes the MkDocs pages in docs/: index.md,
activation-aliyun.md and operations.md in Chinese, index.en.md, activation-aliyun.en.md and
operations.en.md in English (the suffix layout of mkdocs-static-i18n); `make docs` builds them into a
site. The operations page is for the ISV's operators (the console at /ops/), not for customers. e2e/walkthrough.py takes every screenshot
this guide shows; docs/screenshots is a link to e2e/screenshots, so the pages show the committed images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LANGUAGES = ("zh", "en")
GUIDE_PAGE = "activation-aliyun"
OPS_PAGE = "operations"
MAX_STEP_ICON = 9  # Material has numbered circle icons for 1-9


@dataclass(frozen=True)
class Step:
    """One block of the guide: a numbered step (the default), a heading, a plain paragraph or an admonition."""

    zh: str
    en: str
    image: str | None = None
    alt: tuple[str, str] = ("", "")  # the image's text alternative (zh, en)
    level: int = 0  # 2-5: a heading of that level, with `anchor` as its id (the same in both languages)
    anchor: str = ""
    numbered: bool = True  # False: a paragraph without a step number
    callout: str = ""  # "note", "tip" or "warning": an admonition titled `title`
    title: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Guide:
    title: dict
    summary: dict  # the front page's lead
    steps: list[Step] = field(default_factory=list)


def h(level: int, anchor: str, zh: str, en: str) -> Step:
    return Step(zh, en, level=level, anchor=anchor)


def text(zh: str, en: str) -> Step:
    return Step(zh, en, numbered=False)


def callout(kind: str, title: tuple[str, str], zh: str, en: str, **image) -> Step:
    return Step(zh, en, callout=kind, title=title, **image)


GUIDE = Guide(
    title={
        "zh": "阿里云云市场开通观测云商业版",
        "en": "Activating Guance Commercial Edition from Alibaba Cloud Marketplace",
    },
    summary={
        "zh": "在阿里云云市场购买观测云商业版之后，从「已购买的服务」免登进入观测云，注册或绑定费用中心账号，"
        "绑定或创建工作空间，几分钟即可开始使用观测云。",
        "en": "After buying Guance Commercial Edition on Alibaba Cloud Marketplace, click **Open Guance** in **Purchased services** "
        "to go to Guance, register or bind a Billing Center account, bind or create a workspace, and "
        "start using Guance within minutes.",
    },
    steps=[
        text(
            "在阿里云云市场购买观测云之后，按下面的步骤开通观测云商业版：从云市场免登进入观测云，注册或绑定费用中心账号，"
            "绑定或创建工作空间，最后用观测云账号登录。以下截图来自本项目的云市场模拟器和观测云开通向导。",
            "After buying Guance on Alibaba Cloud Marketplace, activate the Commercial Edition as follows: click "
            "**Open Guance** on the marketplace, register or bind a Billing Center account, bind or create a "
            "workspace, then log in with your Guance account. The screenshots come from this project's marketplace "
            "simulator and Guance activation wizard.",
        ),
        h(2, "purchase", "第一步：购买观测云", "Step 1: Buy Guance"),
        Step(
            "打开云市场的观测云商品页，点击「立即开通」。",
            "Open the Guance product page on the marketplace and click **Activate now**.",
            "2-commercial-1107",
            ("云市场的观测云商品页", "The Guance product page on the marketplace"),
        ),
        Step(
            "在「开通按量服务」对话框中阅读并勾选服务协议，点击「开通」。不勾选协议无法开通。",
            "In the **Activate pay-as-you-go service** dialog, read and accept the agreement, then click "
            "**Activate**. Without the agreement nothing is ordered.",
            "3-commercial-1107",
            ("「开通按量服务」对话框", "The Activate pay-as-you-go service dialog"),
        ),
        Step(
            "对话框提示「开通申请已提交」。点击「确认」前往「已购买的服务」。",
            "The dialog confirms **Activation request submitted**. Click **Confirm** to go to **Purchased services**.",
            "4-commercial-1107",
            ("「开通申请已提交」对话框", "The Activation request submitted dialog"),
        ),
        Step(
            "「已购买的服务」列出新的观测云实例及其实例 ID。点击实例右侧的「免登」直接进入观测云，无需再次登录。",
            "**Purchased services** lists the new Guance instance with its instance ID. Click **Open Guance** on its "
            "row to go straight to Guance without signing in again.",
            "10.aliyun_market_1",
            ("云市场「已购买的服务」列表", "The marketplace's Purchased services list"),
        ),
        h(2, "choose", "第二步：选择开通方式", "Step 2: Choose how to activate"),
        Step(
            "如果这个阿里云账号还没有绑定观测云费用中心账号，观测云会请您选择：没有费用中心账号时先[注册](#register)，"
            "已有费用中心账号时直接[绑定](#bind)。",
            "If this Alibaba Cloud account is not yet bound to a Guance Billing Center account, Guance asks you to "
            "choose: [register](#register) if you have no Billing Center account, or [bind](#bind) the one you have.",
            "10.aliyun_market_2",
            ("选择是否已有费用中心账号", "Choosing whether you have a Billing Center account"),
        ),
        callout(
            "note",
            ("什么是费用中心账号？", "What is a Billing Center account?"),
            "费用中心账号是观测云用来管理商业版计费的独立账号，一个费用中心账号可以为多个工作空间结算。整体流程如下：",
            "A Billing Center account is the separate account Guance uses for Commercial Edition billing; one "
            "Billing Center account can pay for many workspaces. The whole process:",
            image="17.process_1",
            alt=("开通流程图", "The activation process diagram"),
        ),
        h(3, "register", "没有费用中心账号：注册", "No Billing Center account: register"),
        Step(
            "选择「没有费用中心账号」并点击「下一步」，填写基本信息：站点、用户名、登录密码、邮箱（点击「获取验证码」后填入"
            "邮件中的验证码）和手机号，点击「下一步」。",
            "Choose **I don't have a Billing Center account** and click **Next**. Fill in the basic information: site, "
            "username, password, email (click **Get code** and type the code from the email) and mobile number, "
            "then click **Next**.",
            "10.aliyun_market_3",
            ("注册第一步：基本信息", "Registration step 1: basic information"),
        ),
        callout(
            "tip",
            ("验证码", "Verification codes"),
            "验证码为 6 位数字，10 分钟内有效，只能使用一次，输错 5 次即失效。没有收到邮件时，60 秒后可以重新获取。",
            "A code has 6 digits, is valid for 10 minutes and works once; 5 wrong tries void it. If no email "
            "arrives, you can ask for a new code after 60 seconds.",
        ),
        Step(
            "填写企业信息（「更多信息」选填），同意协议后点击「注册」即创建观测云账号。",
            "Enter your company information (**More information** is optional), accept the agreement and click "
            "**Register**: your Guance account is created.",
        ),
        Step(
            "最后一步选择「阿里云市场开通」，填写工作空间名称、语言和风格；账号 ID 和商品实例 ID 已自动带入。保持勾选"
            "「同步创建费用中心账号」并点击「开通」：费用中心账号、阿里云账号绑定、工作空间和实例绑定一次完成。",
            "In the last step, **Activate via Alibaba Cloud Marketplace** is selected; enter the workspace name, "
            "language and style — the account ID and instance ID are filled in for you. Keep **Also create a "
            "Billing Center account** ticked and click **Activate**: the Billing Center account, the "
            "binding of your Alibaba Cloud account, the workspace and the instance binding are all done at once.",
        ),
        callout(
            "note",
            ("费用中心账号与观测云账号", "Billing Center account and Guance account"),
            "同步创建的费用中心账号与观测云账号使用相同的用户名和密码；创建之后两者相互独立。",
            "The Billing Center account created at the same time starts with the same username and password as your "
            "Guance account; afterwards the two are independent.",
        ),
        h(3, "bind", "已有费用中心账号：绑定", "With a Billing Center account: bind"),
        Step(
            "选择「有费用中心账号」并点击「下一步」，进入「绑定观测云工作空间」。第一次进入时会显示如何快速绑定的说明，"
            "点击「知道了」关闭；页面上方的「帮助」可以再次打开它。",
            "Choose **I have a Billing Center account** and click **Next** to open **Bind Guance workspace**. On the "
            "first visit a short guide explains the steps; close it with **Got it**, and reopen it with **Help** at "
            "the top of the page.",
            "15.aliyun_register_1",
            ("「绑定观测云工作空间」和首次进入的说明", "Bind Guance workspace with its first-visit guide"),
        ),
        callout(
            "warning",
            ("注意", "Note"),
            "右上角的站点与绑定费用中心账号无关，只决定之后新建的工作空间所在的站点。",
            "The site at the top right has nothing to do with binding the Billing Center account: it only decides "
            "where workspaces you create next will live.",
        ),
        h(
            4,
            "bind-billing",
            ":material-numeric-1-circle: 绑定费用中心账号",
            ":material-numeric-1-circle: Bind the Billing Center account",
        ),
        Step(
            "输入费用中心账号的用户名，点击「获取验证码」，验证码会发送到该账号的邮箱。填入验证码后点击「绑定」。",
            "Enter the Billing Center account's username and click **Get code**; the code goes to that account's "
            "email. Type it and click **Bind**.",
            "10.market_aliyun_1",
            ("绑定费用中心账号", "Binding the Billing Center account"),
        ),
        h(
            4,
            "bind-workspace",
            ":material-numeric-2-circle: 绑定工作空间",
            ":material-numeric-2-circle: Bind a workspace",
        ),
        Step(
            "页面列出该费用中心账号下的工作空间。可绑定的工作空间右侧有「绑定」，点击即绑定，页面显示绑定成功。"
            "没有可绑定的工作空间时，请[创建工作空间](#create-workspace)。",
            "The page lists the Billing Center account's workspaces. Click **Bind** on an available one: it is bound "
            "at once, and the page says so. With no available workspace, [create a workspace](#create-workspace).",
            "15.aliyun_register_6.1",
            ("费用中心账号下的工作空间列表", "The Billing Center account's workspaces"),
        ),
        callout(
            "warning",
            ("注意", "Note"),
            "已通过其他阿里云实例结算的工作空间不能再绑定。",
            "A workspace already billed to another Alibaba Cloud instance cannot be bound again.",
        ),
        Step(
            "回到「绑定观测云工作空间」，工作空间显示「已绑定」。点击「确定」。",
            "Back on **Bind Guance workspace**, the workspace shows **Bound**. Click **Confirm**.",
            "15.aliyun_register_6",
            ("工作空间显示「已绑定」", "The workspace shows Bound"),
        ),
        h(4, "create-workspace", "创建工作空间", "Create a workspace"),
        text(
            "没有可绑定的工作空间时，点击「立即创建工作空间」，再按您是否已有观测云账号选择。",
            "With no available workspace, click **Create workspace now**, then choose whether you already have a "
            "Guance account.",
        ),
        h(5, "with-guance-account", "有观测云账号", "I have a Guance account"),
        Step(
            "选择「有观测云账号」。",
            "Choose **I have a Guance account**.",
            "1-1-commercial-aliyun",
            ("创建工作空间：有观测云账号", "Create a workspace: I have a Guance account"),
        ),
        Step(
            "填写工作空间名称，选择语言和风格，输入注册观测云账号时使用的邮箱，获取并填入验证码，同意协议后点击「创建」。"
            "创建后回到绑定页面，新工作空间显示「已绑定」。",
            "Enter the workspace name, choose its language and style, enter the email of your Guance account, get "
            "and type the code, accept the agreement and click **Create**. Back on the bind page, the new "
            "workspace shows **Bound**.",
            "15.aliyun_register_5",
            ("填写好的创建工作空间表单", "The filled-in workspace form"),
        ),
        h(5, "without-guance-account", "没有观测云账号", "I don't have a Guance account"),
        Step(
            "还没有观测云账号时选择「没有观测云账号」。",
            "If you have no Guance account yet, choose **I don't have a Guance account**.",
            "1-2-commercial-aliyun",
            ("创建工作空间：没有观测云账号", "Create a workspace: I don't have a Guance account"),
        ),
        Step(
            "填写工作空间名称、语言和风格，以及新观测云账号的用户名、密码、邮箱、验证码和手机号（与注册观测云账号时相同），"
            "同意协议后点击「注册并创建工作空间」。账号和工作空间一次创建完成，并绑定到实例。",
            "Enter the workspace name, language and style, and the new account's username, password, email, code "
            "and mobile number (as when registering a Guance account), accept the agreement and click **Register "
            "and create workspace**. The account and the workspace are created together and bound to the instance.",
            "15.aliyun_register_3",
            ("填写好的注册并创建工作空间表单", "The filled-in registration and workspace form"),
        ),
        h(2, "activated", "第三步：开通成功", "Step 3: Activated"),
        Step(
            "点击「确定」后显示「开通成功」，列出工作空间、可登录的观测云账号、费用中心账号、阿里云账号 ID 和商品实例 ID。",
            "After **Confirm**, **Activated successfully** lists the workspace, the Guance accounts that can log in, "
            "the Billing Center account, the Alibaba Cloud account ID and the instance ID.",
            "15.aliyun_register_7",
            ("「开通成功」页面", "The Activated successfully page"),
        ),
        Step(
            "再点击「确定」前往观测云登录页（/login/pwd），站点和用户名已填好，输入密码登录。首页显示工作空间、商业版、"
            "阿里云账号结算信息，以及「从安装 DataKit 开始」（安装命令中带有该工作空间自己的 token）。",
            "Click **Confirm** again to go to the Guance login page (/login/pwd) with the site and username filled in; "
            "enter the password. The first page shows the workspace, Commercial Edition, that it is billed to your "
            "Alibaba Cloud account, and **Start with installing DataKit** (its install command carries the "
            "workspace's own token).",
            "1-free-start-1109",
            ("登录后的观测云首页", "The Guance start page after logging in"),
        ),
        callout(
            "tip",
            ("再次进入", "Coming back"),
            "「开通成功」列出可以登录该工作空间的观测云账号。之后再从「已购买的服务」点击「免登」：已在本浏览器登录该工作空间时直接进入控制台，"
            "否则打开登录页并填好所有者的用户名。",
            "The success page names the Guance accounts that can log in to the workspace. Later, **Open Guance** in "
            "**Purchased services** goes straight to the console when such an account is logged in in this browser, "
            "and otherwise to the login page with the owner's username filled in.",
        ),
        h(2, "pay-as-you-go", "按量付费：用量与费用账单", "Pay-as-you-go: usage and the bill"),
        Step(
            "开通后，观测云按小时计量工作空间的用量（数据点、API 调用），每个小时结束后通过云市场的 PushMeteringData 接口把用量推送到阿里云云市场，"
            "由阿里云账号按量结算。登录观测云后，工作空间的「本月用量」列出本月各计量项的用量和每个小时的推送状态：待推送、已推送，或推送失败（附原因）。",
            "Once activated, Guance meters the workspace's usage by the hour (data points, API calls) and, after each "
            "hour, pushes it to Alibaba Cloud Marketplace with the marketplace's PushMeteringData API; the Alibaba Cloud "
            "account pays as it goes. Logged in to Guance, the workspace's **Usage this month** shows this month's usage "
            "per metering item and each hour's push status: **Pending**, **Pushed**, or **Failed** with the reason.",
            "metering-console",
            ("观测云控制台中工作空间的本月用量", "A workspace's usage this month in the Guance console"),
        ),
        Step(
            "在云市场的「已购买的服务」中点击实例的「费用账单」，可以看到每个小时、每个计量项的用量、单价和金额，以及本月合计；"
            "不足 ¥0.01 的明细按 0 计。同一小时的用量只计费一次，重复推送不会重复计费。",
            "In **Purchased services** on the marketplace, click **Bill** on the instance: each hour and metering item "
            "with its quantity, unit price and amount, and the month's total; a line under ¥0.01 counts as 0. An hour's "
            "usage is billed once, however often it is pushed.",
            "metering-bill",
            ("云市场的费用账单", "The bill on the marketplace"),
        ),
        h(
            2,
            "after-expiry",
            "实例到期之后：锁定倒计时与解锁",
            "After the instance expires: the lock countdown and unlocking",
        ),
        Step(
            "阿里云商品实例到期后，通过它结算的工作空间进入 14 天的锁定倒计时，工作空间所有者和费用中心账号会收到邮件，"
            "到期前 7 天和 1 天还会再次提醒。此时从「已购买的服务」点击「免登」，会看到锁定页面：剩余天数、锁定时间，"
            "以及倒计时结束后会发生什么——工作空间被锁定，其数据被删除且无法恢复。",
            "When the Alibaba Cloud instance expires, the workspace billed through it enters a 14-day lock countdown: "
            "the workspace owner and the Billing Center account are emailed, and reminded 7 days and 1 day before the "
            "end. **Open Guance** in **Purchased services** now shows the lock page: the days left, the lock time, and "
            "what happens at the end — the workspace is locked and its data deleted for good.",
            "x1-lock-page",
            ("锁定倒计时页面", "The lock countdown page"),
        ),
        Step(
            "倒计时期间，成员仍可登录观测云查看工作空间的历史数据；控制台顶部的横幅提示剩余天数，并提供「立即解锁」。",
            "During the countdown, members can still log in to Guance and view the workspace's history; a banner at "
            "the top of the console shows the days left and offers **Unlock now**.",
            "x1-lock-banner",
            ("控制台顶部的锁定倒计时横幅", "The lock countdown banner at the top of the console"),
        ),
        Step(
            "「立即解锁」打开解锁页面（一次性链接，无需再次登录）：在阿里云云市场为实例续费，或改为费用中心账号结算"
            "（费用中心账号通过邮件验证码确认）。任一方式完成后，工作空间立即解锁。不再需要工作空间时，所有者可以在锁定页面"
            "输入工作空间名称将其「解散」。",
            "**Unlock now** opens the unlock page (a single-use link, no second login): renew the instance on Alibaba "
            "Cloud Marketplace, or have it paid through the Billing Center account instead (the Billing Center account confirms "
            "with an emailed code). Either way, the workspace unlocks at once. If the workspace is no longer needed, "
            "its owner can **Dissolve** it from the lock page by typing its name.",
            "x3-unlock-choices",
            ("解锁方式页面", "The unlock choices page"),
        ),
        Step(
            "在「已购买的服务」中「关闭」实例后，通过它结算的工作空间转为费用中心账号结算（锁定倒计时随之结束），"
            "工作空间所有者会收到邮件；数据和成员不受影响。",
            "When the instance is released in **Purchased services**, the workspace billed through it is paid "
            "through the Billing Center account again (ending any lock countdown) and its owner is emailed; its data and "
            "members are not affected.",
        ),
        h(2, "phone", "在手机上开通", "On a phone"),
        Step(
            "在手机上同样可以完成整个开通流程：页面不会左右滚动，每个按钮都在屏幕内。「已购买的服务」中的每个实例显示为一张卡片，"
            "「免登」「费用账单」「续费」「关闭」和「模拟操作」都在卡片里。",
            "The whole activation works on a phone too: no page scrolls sideways, and every button stays on the "
            "screen. In **Purchased services** each instance is a card, with **Open Guance**, **Bill**, **Renew**, "
            "**Release** and **Simulate** on it.",
            "phone-instances",
            ("手机上的「已购买的服务」", "Purchased services on a phone"),
        ),
        Step(
            "选择开通方式时，两个选项和开通流程图上下排列。",
            "When you choose how to activate, the two options and the process diagram stack up.",
            "phone-choose",
            ("手机上的选择开通方式", "Choosing how to activate on a phone"),
        ),
        Step(
            "绑定工作空间时，每个工作空间也是一张卡片，状态和「绑定」都在卡片里。",
            "When you bind a workspace, each workspace is a card too, with its state and **Bind** on it.",
            "phone-workspaces",
            ("手机上的绑定工作空间", "Binding a workspace on a phone"),
        ),
        Step(
            "登录后的控制台在手机上同样可读；每小时用量这样的宽表格在自己的区域内左右滑动，并有提示。",
            "The console after logging in reads well on a phone; a wide table such as the hourly usage scrolls "
            "sideways inside its own box, and says so.",
            "phone-console",
            ("手机上的观测云控制台", "The Guance console on a phone"),
        ),
    ],
)

OPS_GUIDE = Guide(
    title={"zh": "运维控制台", "en": "The operations console"},
    summary={
        "zh": "观测云运维人员在运维控制台查看每个云市场实例的开通过程、SPI 调用和开通漏斗，并重试失败的计量推送和任务。",
        "en": "Guance's operators use the operations console to follow each marketplace instance's activation, its "
        "SPI calls and the activation funnel, and to retry failed metering pushes and tasks.",
    },
    steps=[
        text(
            "运维控制台（/ops/）供观测云运维人员使用，与客户的观测云账号相互独立：运维账号由管理员在服务器上用"
            "`flask ops create-operator` 创建，登录需要密码和认证器中的动态验证码，每一个操作都记录在「操作审计」中。",
            "The operations console (/ops/) is for Guance's operators and is separate from customers' Guance "
            "accounts: an administrator creates operator accounts on the server with `flask ops create-operator`, "
            "signing in takes a password and a code from an authenticator app, and every action is recorded "
            "under **Audit trail**.",
        ),
        h(2, "ops-sign-in", "登录与绑定认证器", "Signing in and enrolling an authenticator"),
        Step(
            "打开 /ops/，输入运维账号和密码。第一次登录时页面显示二维码：用手机上的认证器应用（如 Google Authenticator、"
            "Microsoft Authenticator）扫描，或手动输入二维码下方的密钥，然后输入认证器显示的 6 位验证码完成绑定。",
            "Open /ops/ and enter your operator username and password. At the first sign-in the page shows a QR code: "
            "scan it with an authenticator app on your phone (such as Google Authenticator or Microsoft "
            "Authenticator), or type the key shown below it, then enter the 6-digit code the app shows.",
            "ops-enrol",
            ("绑定认证器：二维码和密钥", "Enrolling an authenticator: the QR code and the key"),
        ),
        callout(
            "tip",
            ("动态验证码", "Authenticator codes"),
            "之后每次登录都需要认证器中最新的验证码；同一个验证码只能使用一次。丢失手机时，请管理员运行"
            "`flask ops reset-totp 运维账号` 重新绑定。",
            "Every later sign-in asks for the app's latest code; a code works once. If you lose your phone, ask an "
            "administrator to run `flask ops reset-totp <username>` to enrol again.",
        ),
        h(2, "ops-timeline", "查找实例，查看时间线", "Find an instance and read its timeline"),
        Step(
            "「实例」可以按阿里云账号 ID、商品实例 ID、工作空间名称、费用中心账号或状态搜索，列出每个实例的开通进度。",
            "**Instances** searches by Alibaba Cloud account ID, instance ID, workspace name, Billing Center Account "
            "or status, and shows how far each instance's activation went.",
            "ops-instances",
            ("按阿里云账号 ID 搜索实例", "Searching instances by Alibaba Cloud account ID"),
        ),
        Step(
            "点击商品实例 ID 打开它的时间线：每一次 SPI 调用（参数中不含 token）、免登、开通步骤、绑定、邮件、计量推送、"
            "Webhook 和生命周期变化，按时间先后排列。",
            "Click an instance ID to open its timeline: every SPI call (its parameters without the token), "
            "Login-free, activation step, binding, email, metering push, webhook and lifecycle change, in time order.",
            "ops-timeline",
            ("实例的时间线", "An instance's timeline"),
        ),
        h(2, "ops-funnel", "开通漏斗", "The activation funnel"),
        Step(
            "「开通漏斗」统计所选时间段内开始开通的实例到达每一步的数量、在每一步离开的数量和停留时间的中位数，"
            "左边是图，右边是表。",
            "**Activation funnel** shows, for the instances whose activation began in the chosen period, how many "
            "reached each step, how many left at each step and the median time spent on it: the chart on the left, "
            "the table beside it.",
            "ops-funnel",
            ("开通漏斗", "The activation funnel"),
        ),
        callout(
            "note",
            ("其他页面", "The other pages"),
            "「SPI 审计日志」按动作、结果和时间筛选；「卡住的开通」列出在某一步停留过久的实例；「计量推送失败」和"
            "「失败任务」可以重试；「Webhook」配置开通、到期、锁定等事件的通知地址并发送测试事件。",
            "**SPI audit log** filters by action, outcome and time; **Stuck activations** lists instances idle at one "
            "step for too long; **Metering failures** and **Failed tasks** can be retried; **Webhook** sets the "
            "addresses notified of activations, expiries, locks and more, and sends a test event.",
        ),
    ],
)
GUIDES = {GUIDE_PAGE: GUIDE, OPS_PAGE: OPS_GUIDE}


def screenshots(guide: Guide) -> list[str]:
    return [step.image for step in guide.steps if step.image]


SCREENSHOTS = [name for guide in GUIDES.values() for name in screenshots(guide)]  # the walkthrough takes them all
FRONT_PAGE = {  # title, the button to the guide, the heading of its contents, the heading for operators
    "zh": ("概览", "阅读开通指南", "指南内容", "观测云运维人员"),
    "en": ("Overview", "Read the activation guide", "In the guide", "For Guance's operators"),
}


def page_path(name: str, language: str) -> Path:
    """docs/<name>.md in Chinese (the default language), docs/<name>.<language>.md otherwise."""
    return DOCS / (f"{name}.md" if language == LANGUAGES[0] else f"{name}.{language}.md")


def image(step: Step, language: str, indent: str = "") -> list[str]:
    if not step.image:
        return []
    alt = step.alt[LANGUAGES.index(language)]
    return [f"{indent}![{alt}](screenshots/{language}/{step.image}.png)", ""]


def admonition(step: Step, language: str) -> list[str]:
    index = LANGUAGES.index(language)
    body = [f"    {getattr(step, language)}", ""] + image(step, language, indent="    ")
    return [f'!!! {step.callout} "{step.title[index]}"', ""] + body


def render(language: str, guide: Guide = GUIDE) -> str:
    """A guide page: headings with stable anchors, numbered steps (restarting under each heading), admonitions."""
    lines, number = [f"# {guide.title[language]}", ""], 0
    for step in guide.steps:
        number = 0 if step.level else number + (step.numbered and not step.callout)
        lines += block(step, language, number)
    return "\n".join(lines).rstrip() + "\n"


def block(step: Step, language: str, number: int) -> list[str]:
    said = getattr(step, language)
    if step.level:
        return [f"{'#' * step.level} {said} {{#{step.anchor}}}", ""]
    if step.callout:
        return admonition(step, language)
    if step.numbered:
        assert number <= MAX_STEP_ICON, f"more than {MAX_STEP_ICON} steps under one heading: {said}"
        said = f":material-numeric-{number}-circle-outline: {said}"
    return [said, ""] + image(step, language)


def render_front_page(language: str) -> str:
    """The site's front page: the lead, a button to the guide and its contents (its steps and their branches)."""
    title, button, contents, operators = FRONT_PAGE[language]
    lines = [f"# {title}", "", GUIDE.summary[language], ""]
    lines += [f"[{button}]({GUIDE_PAGE}.md){{ .md-button .md-button--primary }}", "", f"## {contents}", ""]
    number = 0
    for step in GUIDE.steps:
        link = f"[{getattr(step, language)}]({GUIDE_PAGE}.md#{step.anchor})"
        if step.level == 2:
            number += 1
            lines.append(f"{number}. {link}")
        elif step.level == 3:
            lines.append(f"    - {link}")
    lines += ["", f"## {operators}", "", f"[{OPS_GUIDE.title[language]}]({OPS_PAGE}.md): {OPS_GUIDE.summary[language]}"]
    return "\n".join(lines) + "\n"


PAGE_MAP = "page-map"
PAGE_MAP_TEXT = {  # title and lead of the page map, in the guide and in the README
    "zh": (
        "页面一览",
        "开通流程中的每个页面：编号（与指南和截图一致）、标题、地址、谁能看到它。M1-M5 是云市场的页面。",
    ),
    "en": (
        "Page map",
        "Every page of the activation: its id (as in the guide and the screenshots), title, URL and who sees it. "
        "M1-M5 are the marketplace's pages.",
    ),
}
TABLE_HEAD = {
    "zh": "| 编号 | 页面 | 地址 | 谁能看到 | 截图 |\n|---|---|---|---|---|\n",
    "en": "| Id | Page | URL | Who sees it | Screenshots |\n|---|---|---|---|---|\n",
}
README = ROOT / "README.md"
README_MARKERS = ("<!-- page-map:start (written by python -m e2e.guide) -->", "<!-- page-map:end -->")


def page_map_table(language: str) -> str:
    """Both applications' page maps as one table (wizard/pages.py, marketplace/pages.py)."""
    from marketplace import pages as market_pages
    from wizard import pages as guance_pages

    return TABLE_HEAD[language] + market_pages.table(language) + guance_pages.table(language)


def render_page_map(language: str) -> str:
    title, lead = PAGE_MAP_TEXT[language]
    return f"# {title}\n\n{lead}\n\n{page_map_table(language)}"


def readme_with_page_map(readme: str) -> str:
    """The README with the English page map between its markers."""
    start, end = README_MARKERS
    before, rest = readme.split(start, 1)
    _old, after = rest.split(end, 1)
    return f"{before}{start}\n{page_map_table('en')}{end}{after}"


def pages() -> dict[Path, str]:
    """Every page this guide generates, by path, in both languages, and the README with its page map."""
    rendered = {}
    for language in LANGUAGES:
        rendered[page_path("index", language)] = render_front_page(language)
        for name, guide in GUIDES.items():
            rendered[page_path(name, language)] = render(language, guide)
        rendered[page_path(PAGE_MAP, language)] = render_page_map(language)
    rendered[README] = readme_with_page_map(README.read_text(encoding="utf-8"))
    return rendered


def write() -> list[Path]:
    DOCS.mkdir(exist_ok=True)
    for path, content in pages().items():
        path.write_text(content, encoding="utf-8")
    return list(pages())


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")
