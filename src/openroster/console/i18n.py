"""The console's two languages: English and Chinese, picked from ``Accept-Language`` or the switch.

The labels are the ones the browser tests find elements by (English) and their Chinese
counterparts. The switch in the page header sets :data:`LANG_COOKIE`; without it the browser's
``Accept-Language`` decides (the first of ``zh*`` or ``en*`` by weight), and English otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from starlette.requests import Request

LANG_COOKIE = "openroster_console_lang"
#: The languages, with the tag each page's ``<html lang>`` carries.
LANGUAGES: dict[str, str] = {"en": "en", "zh": "zh-CN"}
DEFAULT = "en"

#: key: (English, Chinese)
_TEXT: dict[str, tuple[str, str]] = {
    "console": ("openroster console", "openroster 控制台"),
    "skip": ("Skip to content", "跳到正文"),
    "main_nav": ("Main", "主导航"),
    "language": ("Language", "语言"),
    "tenants": ("Tenants", "租户"),
    "people": ("People", "人员"),
    "api_docs": ("API docs", "API 文档"),
    "control_docs": ("Control API docs", "控制面 API 文档"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出登录"),
    "signed_out": ("You are signed out.", "已退出登录。"),
    "admin_token": ("Admin token", "管理员令牌"),
    "admin_token_help": (
        "The control plane's token: serve --admin-token, or the one the server printed at start.",
        "控制面的令牌：serve --admin-token，或服务器启动时打印的令牌。",
    ),
    "wrong_token": ("That is not the admin token.", "管理员令牌不正确。"),
    "throttled": ("Too many failed sign-ins; wait, then try again.", "登录失败次数过多，请稍后再试。"),
    "form_expired": (
        "The form expired or was not sent by this page; try again.",
        "表单已过期或并非由本页面提交，请重试。",
    ),
    "tenant_list": ("Tenants", "租户列表"),
    "tenant_id": ("Tenant ID", "租户 ID"),
    "tenant_name": ("Name", "名称"),
    "no_tenants": ("There are no tenants yet.", "还没有租户。"),
    "search_people": ("Search people", "搜索人员"),
    "search_help": (
        "A name (its start), or a whole email, phone, employee ID or user ID.",
        "姓名（开头），或完整的邮箱、手机号、工号或用户 ID。",
    ),
    "search": ("Search", "搜索"),
    "department": ("Department", "部门"),
    "all_departments": ("All departments", "全部部门"),
    "status": ("Status", "状态"),
    "all_statuses": ("All statuses", "全部状态"),
    "status_active": ("Active", "在职"),
    "status_notactive": ("Not active", "未激活"),
    "status_disabled": ("Disabled", "已禁用"),
    "status_dimission": ("Left", "已离职"),
    "no_people": ("No one matches.", "没有匹配的人员。"),
    "next_page": ("Next page", "下一页"),
    "first_page": ("First page", "第一页"),
    "new_person": ("New person", "新建人员"),
    "people_of": ("People of {tenant}", "{tenant} 的人员"),
    "name": ("Name", "名称"),
    "user_name": ("Name", "姓名"),
    "title": ("Title", "职务"),
    "email": ("Email", "邮箱"),
    "phone": ("Phone", "手机号"),
    "employee_id": ("Employee ID", "工号"),
    "telephone": ("Telephone", "座机"),
    "login_name": ("Login name", "登录名"),
    "ex_user_id": ("External ID", "外部 ID"),
    "employer": ("Employer", "雇主"),
    "employment_type": ("Employment type", "雇佣类型"),
    "employment_status": ("Employment status", "雇佣状态"),
    "gender": ("Gender", "性别"),
    "role": ("Role", "角色"),
    "work_place": ("Work place", "办公地点"),
    "city": ("City", "城市"),
    "country": ("Country", "国家或地区"),
    "leader_id": ("Leader ID", "直属上级 ID"),
    "avatar": ("Avatar URL", "头像 URL"),
    "user_id": ("User ID", "用户 ID"),
    "departments": ("Departments", "部门"),
    "person_departments": ("Departments", "所属部门"),
    "main_department": ("main", "主部门"),
    "leader": ("leader", "负责人"),
    "none": ("(none)", "（无）"),
    "save": ("Save", "保存"),
    "create": ("Create", "创建"),
    "saved": ("Saved.", "已保存。"),
    "created": ("Created.", "已创建。"),
    "enabled": ("Enabled.", "已启用。"),
    "disabled": ("Disabled.", "已禁用。"),
    "deleted": ("Deleted.", "已删除。"),
    "tenant_created": ("Tenant created.", "已创建租户。"),
    "enable": ("Enable", "启用"),
    "disable": ("Disable", "禁用"),
    "delete": ("Delete", "删除"),
    "cancel": ("Cancel", "取消"),
    "delete_question": (
        "Delete {name}? This cannot be undone.",
        "删除 {name}？此操作无法撤销。",
    ),
    "profile": ("Profile", "资料"),
    "account": ("Account", "账号"),
    "not_saved": ("Nothing was changed: {message}", "未做任何更改：{message}"),
    "not_found": ("Not found", "未找到"),
    "forbidden": ("Forbidden", "禁止访问"),
    "error": ("Error", "错误"),
    "back_to_people": ("Back to people", "返回人员列表"),
    "departments_of": ("Departments of {tenant}", "{tenant} 的部门"),
    "members_count": ("people: {n}", "{n} 人"),
    "sub_departments": ("Sub-departments", "下级部门"),
    "members": ("People directly in it", "直属人员"),
    "path": ("Path", "路径"),
    "department_id": ("Department ID", "部门 ID"),
    "parent_id": ("Parent department ID", "上级部门 ID"),
    "rename_move": ("Rename or move", "重命名或移动"),
    "new_sub_department": ("New department under this one", "在此部门下新建部门"),
    "new_name": ("New department name", "新部门名称"),
    "create_department": ("Create department", "创建部门"),
    "more_departments": ("More departments…", "更多部门…"),
    "tree_help": (
        "Arrow keys move through the tree; Right opens a department, Left closes it, Enter opens its page.",
        "方向键在树中移动；右键展开部门，左键收起，回车打开部门页面。",
    ),
    "delete_department": ("Delete department", "删除部门"),
    "delete_department_question": (
        "Delete {path}? Only an empty department (no people, no sub-departments) can go.",
        "删除 {path}？只有空部门（没有人员和下级部门）才能删除。",
    ),
    "people_in_department": ("People in this department", "此部门的人员"),
    "journal": ("Journal", "请求日志"),
    "journal_title": ("Platform calls", "平台调用"),
    "journal_help": (
        "The calls this server process received, newest first; new ones appear as they arrive.",
        "本服务进程收到的调用，最新的在前；新调用到达时自动出现。",
    ),
    "journal_off": (
        "The journal is off (serve --journal-size 0).",
        "请求日志已关闭（serve --journal-size 0）。",
    ),
    "live_new": ("{n} new calls", "{n} 条新调用"),
    "dialect": ("Dialect", "方言"),
    "all_dialects": ("All dialects", "全部方言"),
    "tenant": ("Tenant", "租户"),
    "path_filter": ("Path (or a glob)", "路径（可用通配符）"),
    "http_status": ("HTTP status", "HTTP 状态码"),
    "filter": ("Filter", "筛选"),
    "time": ("Time", "时间"),
    "method": ("Method", "方法"),
    "code": ("Code", "错误码"),
    "app": ("App", "应用"),
    "latency": ("Latency (ms)", "耗时（毫秒）"),
    "no_calls": ("No calls yet.", "还没有调用。"),
    "call": ("Call {id}", "调用 {id}"),
    "request": ("Request", "请求"),
    "reply": ("Reply", "响应"),
    "query": ("Query", "查询参数"),
    "headers": ("Headers", "请求头"),
    "body": ("Body", "请求体"),
    "reply_body": ("Body", "响应体"),
    "reply_cut": (
        "The journal keeps the first 448 bytes of a reply: the rest is not shown.",
        "请求日志只保留响应的前 448 字节，其余部分不显示。",
    ),
    "fault": ("Fault rule", "故障规则"),
    "request_id": ("Request ID", "请求 ID"),
    "as_curl": ("As curl", "curl 命令"),
    "copy_curl": ("Copy as curl", "复制为 curl"),
    "copied": ("Copied.", "已复制。"),
    "back_to_journal": ("Back to the journal", "返回请求日志"),
    "import": ("Import", "导入"),
    "import_title": ("Import people into {tenant}", "向 {tenant} 导入人员"),
    "import_help": (
        "A .xlsx or .csv file with a header row, as openroster export writes it (docs/cli.md). Every row is "
        "checked first: all of them are written, or none.",
        "带表头的 .xlsx 或 .csv 文件，格式与 openroster export 导出的相同（docs/cli.md）。"
        "先检查每一行：要么全部写入，要么都不写入。",
    ),
    "spreadsheet": ("Spreadsheet", "电子表格"),
    "check_only": ("Check only (write nothing)", "仅检查（不写入）"),
    "importing": ("Importing", "正在导入"),
    "import_needs_script": (
        "The import sends the file with a few lines of script; turn JavaScript on for this page, or use "
        "openroster import.",
        "导入需要本页面的脚本发送文件；请启用 JavaScript，或使用 openroster import。",
    ),
    "choose_file": ("Choose a .xlsx or .csv file first.", "请先选择 .xlsx 或 .csv 文件。"),
    "import_failed": ("The import did not finish: {message}", "导入未完成：{message}"),
    "import_written": (
        "{rows} rows imported: {created} created, {updated} updated, {unchanged} unchanged; "
        "{depts} departments created.",
        "已导入 {rows} 行：新建 {created}，更新 {updated}，未变 {unchanged}；新建部门 {depts} 个。",
    ),
    "import_dry_run": (
        "{rows} rows checked, nothing written: {created} would be created, {updated} updated, "
        "{unchanged} unchanged.",
        "已检查 {rows} 行，未写入：将新建 {created}，更新 {updated}，未变 {unchanged}。",
    ),
    "import_refused": (
        "Nothing was written: {count} problems. Fix them and import the file again.",
        "未写入任何内容：共 {count} 个问题。请修正后重新导入。",
    ),
    "row": ("Row", "行"),
    "column": ("Column", "列"),
    "reason": ("Reason", "原因"),
    "export": ("Export", "导出"),
    "export_help": (
        "The tenant's people as a spreadsheet the import reads back unchanged.",
        "将该租户的人员导出为电子表格，可原样导入。",
    ),
    "export_as": ("Export as .{fmt} ({headers} headers)", "导出为 .{fmt}（{headers} 表头）"),
    "new_tenant": ("New tenant", "新建租户"),
    "tenant_id_help": ("Letters, digits, _ . - (default: generated).", "字母、数字、_ . -（默认自动生成）。"),
    "create_tenant": ("Create tenant", "创建租户"),
    "wps_company_id": ("WPS company ID", "WPS 企业 ID"),
    "dingtalk_corp_id": ("DingTalk corp ID", "钉钉 corpId"),
    "actions": ("Actions", "操作"),
    "apps": ("Apps", "应用"),
    "snapshot": ("Download snapshot", "下载快照"),
    "reset": ("Reset", "重置"),
    "reset_question": (
        "Reset {name}? Its people, departments and attributes go; its apps stay.",
        "重置 {name}？其人员、部门和属性将被清除；应用保留。",
    ),
    "reset_to_empty": ("Reset to empty", "重置为空"),
    "reset_to_seed": ("Reset to its seed", "重置为种子数据"),
    "reset_empty": ("Reset to empty.", "已重置为空。"),
    "reset_seed": ("Reset to its seed.", "已重置为种子数据。"),
    "delete_tenant_question": (
        "Delete {name} and everything in it, apps included? This cannot be undone.",
        "删除 {name} 及其全部数据（包括应用）？此操作无法撤销。",
    ),
    "apps_of": ("Apps of {tenant}", "{tenant} 的应用"),
    "client_id": ("Client ID", "Client ID"),
    "client_id_help": ("Default: generated.", "默认自动生成。"),
    "app_name": ("App name", "应用名称"),
    "scopes": ("Scopes", "权限范围"),
    "scopes_help": (
        "Separated by spaces or commas: kso.contact.read, … (WPS) or qyapi_get_member, … (DingTalk).",
        "以空格或逗号分隔：kso.contact.read 等（WPS）或 qyapi_get_member 等（钉钉）。",
    ),
    "signing": ("Request signing", "请求签名"),
    "platform": ("Platform", "平台"),
    "platform_auto": ("From the scopes", "按权限范围"),
    "agentid": ("Agent ID", "AgentId"),
    "new_app": ("New app", "新建应用"),
    "create_app": ("Create app", "创建应用"),
    "rotate_secret": ("Rotate secret", "更换密钥"),
    "app_created": ("App {client_id} created.", "已创建应用 {client_id}。"),
    "secret_rotated": ("App {client_id} has a new secret.", "应用 {client_id} 已更换密钥。"),
    "secret_once": (
        "Its secret, shown this once (keep it; tokens issued under an old secret stop working):",
        "密钥仅显示这一次（请妥善保存；旧密钥签发的令牌将失效）：",
    ),
    "no_apps": ("This tenant has no apps yet.", "该租户还没有应用。"),
    "attributes": ("Custom attributes", "自定义属性"),
    "attributes_of": ("Custom attributes of {tenant}", "{tenant} 的自定义属性"),
    "attr_name": ("Attribute name", "属性名称"),
    "value_type": ("Value type", "值类型"),
    "options": ("Options", "选项"),
    "options_help": (
        "One per line: key: name, or just a name (a key is made for it).",
        "每行一个：键: 名称，或只写名称（自动生成键）。",
    ),
    "new_attribute": ("New attribute", "新建属性"),
    "create_attribute": ("Create attribute", "创建属性"),
    "no_attributes": ("This tenant has no custom attributes yet.", "该租户还没有自定义属性。"),
    "save_attributes": ("Save attributes", "保存属性"),
    "url_title": ("{name}: title", "{name}：标题"),
    "url_link": ("{name}: link", "{name}：链接"),
    "relation_user_help": (
        "A user ID of this tenant: type a name, email, phone or ID and choose.",
        "本租户的用户 ID：输入姓名、邮箱、手机号或 ID 后选择。",
    ),
    "relation_depts_help": (
        "Department IDs, separated by commas: type a name or ID and choose.",
        "部门 ID，以逗号分隔：输入名称或 ID 后选择。",
    ),
    "matches": ("Matches", "匹配项"),
    "no_matches": ("No matches", "无匹配项"),
    "vt_text": ("text", "文本"),
    "vt_option": ("option", "选项"),
    "vt_url": ("link", "链接"),
    "vt_relation_user": ("a person", "人员"),
    "vt_relation_depts": ("departments", "部门"),
    "dept_ids": ("Department IDs", "部门 ID"),
    "dept_ids_help": (
        "Separated by commas: type a department's name or ID and choose.",
        "以逗号分隔：输入部门名称或 ID 后选择。",
    ),
    "def_dept_id": ("Main department ID", "主部门 ID"),
    "save_departments": ("Save departments", "保存部门"),
    "faults_and_clock": ("Faults and clock", "故障与时钟"),
    "clock": ("Clock", "时钟"),
    "clock_now": (
        "The server's clock says {now} ({offset:+g} s from real time).",
        "服务器时钟：{now}（与真实时间相差 {offset:+g} 秒）。",
    ),
    "clock_set": ("Set the clock to", "将时钟设为"),
    "set_clock": ("Set clock", "设置时钟"),
    "clock_advance": ("Advance by (seconds)", "拨快（秒）"),
    "advance_clock": ("Advance clock", "拨快时钟"),
    "real_time": ("Back to real time", "恢复真实时间"),
    "clock_changed": ("The clock is changed.", "时钟已更改。"),
    "fault_rules": ("Fault rules", "故障规则"),
    "fault_match": ("Calls", "匹配的调用"),
    "fault_action": ("Action", "动作"),
    "fault_reply": ("Reply", "响应"),
    "fault_hits": ("Hits", "命中次数"),
    "fault_times": ("Times (empty: until removed)", "次数（留空：直到删除）"),
    "every_call": ("every call", "所有调用"),
    "platform_code": ("Platform code", "平台错误码"),
    "fault_body": ("Body contains", "请求体包含"),
    "fault_message": ("Error message", "错误信息"),
    "retry_after": ("Retry-After (seconds)", "Retry-After（秒）"),
    "probability": ("Probability (0 to 1)", "概率（0 到 1）"),
    "no_faults": ("No fault rules: every call is answered normally.", "没有故障规则：所有调用正常响应。"),
    "new_fault": ("New fault rule", "新建故障规则"),
    "add_fault": ("Add fault rule", "添加故障规则"),
    "remove": ("Remove", "删除"),
    "fault_added": ("Fault rule added.", "已添加故障规则。"),
    "fault_removed": ("Fault rule removed.", "已删除故障规则。"),
    "restore_snapshot": ("Replace with a snapshot", "用快照替换"),
    "restore_snapshot_help": (
        "A snapshot of this tenant (Download snapshot on the Tenants page, or the control API's): its "
        "people, departments, attributes and apps replace what the tenant holds, in one transaction.",
        "本租户的快照（租户页面的“下载快照”，或控制面 API 导出的）："
        "其人员、部门、属性和应用将在一个事务中替换租户现有内容。",
    ),
    "snapshot_file": ("Snapshot", "快照"),
    "replacing": ("Replacing", "正在替换"),
    "choose_snapshot": ("Choose a snapshot (.json) first.", "请先选择快照（.json）。"),
    "replace_tenant": ("Replace tenant", "替换租户"),
    "snapshot_restored": ("{tenant} was replaced from the snapshot.", "已用快照替换 {tenant}。"),
    "new_secrets": (
        "These apps had no secret in the snapshot and got new ones, shown this once:",
        "以下应用在快照中没有密钥，已生成新密钥（仅显示这一次）：",
    ),
    "events": ("Events", "事件"),
    "events_of": ("Change events of {tenant}", "{tenant} 的变更事件"),
    "subscriptions": ("Subscriptions", "订阅"),
    "subscriptions_help": (
        "A new subscription gets the changes committed from then on. Its receiver's URL is checked first"
        " (WPS's challenge, DingTalk's check_url); a receiver that fails the check is not subscribed.",
        "新订阅从创建时起接收提交的变更。订阅前会先校验接收方的 URL（WPS 的 challenge、钉钉的 check_url）；"
        "未通过校验的接收方不会被订阅。",
    ),
    "refused_why": (
        "The server refused this request before the console saw it: {message}.",
        "服务器在控制台处理之前拒绝了此请求：{message}。",
    ),
    "back_to_console": ("Back to the console", "返回控制台"),
    "subscribe_wps": ("Subscribe a WPS receiver", "订阅 WPS 接收方"),
    "subscribe_dingtalk": ("Subscribe a DingTalk receiver", "订阅钉钉接收方"),
    "receiver_url": ("Receiver URL", "接收方 URL"),
    "topics_help": ("None ticked: every one.", "不勾选即全部。"),
    "dingtalk_events": ("Event types", "事件类型"),
    "callback_token": ("Token", "Token"),
    "aes_key": ("AES key", "AES 密钥"),
    "payload_style": ("Payload style", "消息格式"),
    "payload_current": ("current (appKey as the owner key)", "current（以 appKey 为归属标识）"),
    "payload_legacy": ("legacy (corpId as the owner key)", "legacy（以 corpId 为归属标识）"),
    "subscribe": ("Subscribe", "订阅"),
    "subscribed": ("Subscribed: {id}.", "已订阅：{id}。"),
    "no_apps_of": ("The tenant has no app of this platform.", "该租户没有此平台的应用。"),
    "unsubscribe": ("Unsubscribe", "取消订阅"),
    "unsubscribe_question": (
        "Unsubscribe {id} ({url})? Its deliveries are removed too; nothing more is sent to it.",
        "取消订阅 {id}（{url}）？其投递记录也会删除，之后不再向它发送。",
    ),
    "unsubscribed": ("Unsubscribed.", "已取消订阅。"),
    "topics": ("Topics", "主题"),
    "pause": ("Pause", "暂停"),
    "resume": ("Resume", "恢复"),
    "replay": ("Replay", "重放"),
    "replay_since": ("Since", "起始时间"),
    "subscription_paused": (
        "Subscription paused: nothing is delivered until it resumes.",
        "订阅已暂停：恢复前不会投递。",
    ),
    "subscription_resumed": ("Subscription resumed.", "订阅已恢复。"),
    "replayed": ("{n} deliveries queued again.", "已重新排队 {n} 条投递。"),
    "no_subscriptions": ("This tenant has no subscriptions.", "该租户没有订阅。"),
    "deliveries": ("Deliveries", "投递"),
    "flush": ("Deliver what is due now", "立即投递到期的事件"),
    "flushed": ("Everything due was delivered.", "到期的事件已全部投递。"),
    "subscription": ("Subscription", "订阅"),
    "event_id": ("Event ID", "事件 ID"),
    "topic": ("Topic", "主题"),
    "operation": ("Operation", "操作"),
    "attempts": ("Attempts", "尝试次数"),
    "last_reply": ("Last reply", "最近一次响应"),
    "no_deliveries": ("No deliveries yet.", "还没有投递。"),
    "later_deliveries": ("Later deliveries", "更晚的投递"),
    "roster": ("Roster (DingTalk)", "花名册（钉钉）"),
    "roster_help": (
        "The person's roster as the DingTalk roster API gives it and changes it, a group at a time.",
        "该人员在钉钉花名册 API 中的资料，按分组查看和修改。",
    ),
    "roster_filled": ("{n} values", "{n} 项"),
    "roster_new_row": ("A new row", "新增一行"),
    "roster_row": ("Row {n}", "第 {n} 行"),
    "roster_edit": ("Change {group}", "修改{group}"),
    "roster_save": ("Save {group}", "保存{group}"),
    "gender_undefined": ("Not given", "未填写"),
    "gender_male": ("Male", "男"),
    "gender_female": ("Female", "女"),
    "gender_secrecy": ("Private", "保密"),
    "role_super-admin": ("Super admin", "超级管理员"),
    "role_admin": ("Admin", "管理员"),
    "role_normal": ("Member", "普通成员"),
}


class Text(Mapping[str, str]):
    """The labels of one language: ``t["save"]``, ``t.fmt("people_of", tenant=...)`` in templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._index = 1 if lang == "zh" else 0

    def __getitem__(self, key: str) -> str:
        return _TEXT[key][self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(_TEXT)

    def __len__(self) -> int:
        return len(_TEXT)

    def fmt(self, key: str, **values: object) -> str:
        return self[key].format(**values)


def language(request: Request) -> str:
    """The page's language: the switch's cookie, else the best of ``Accept-Language``, else English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    best, best_q = DEFAULT, 0.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > best_q:
            best, best_q = base, q
    return best
