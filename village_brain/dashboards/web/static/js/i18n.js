// Chinese (the default) and English. The choice is kept in this browser.

import { config } from "./config.js";

const STORAGE_KEY = "village-brain.lang";

const TEXT = {
  zh: {
    skip: "跳到主要内容",
    brand: "乡村大脑",
    "lang.switch": "English",
    "lang.label": "Switch to English",
    "live.connecting": "正在连接",
    "live.open": "实时",
    "live.closed": "已断开，正在重连",
    "footer.tz": "时间按",
    loading: "加载中…",
    "load.failed": "加载失败：{error}",
    "overview.title": "全村概览",
    "overview.summary": "概览",
    "count.online": "在线设备",
    "count.offline": "离线设备",
    "count.refused": "上报被拒收",
    "count.alerts": "活动告警",
    "filter.village": "村",
    "filter.sensor": "传感器类型",
    "filter.all": "全部",
    "plan.title": "村庄平面图",
    "plan.empty": "还没有带坐标的设备。",
    "plan.river": "河道",
    "plan.scale": "{n} 米",
    "plan.unplaced": "{n} 台设备没有坐标，只在下方列表中。",
    "devices.title": "设备",
    "devices.empty": "没有符合条件的设备。",
    "col.device": "设备",
    "col.state": "状态",
    "col.now": "当前读数",
    "col.seen": "最近上报",
    "state.ok": "正常",
    "state.alerting": "告警",
    "state.offline": "离线",
    "state.refused": "上报被拒收",
    "device.foreign_id": "设备在其自身协议中的编号",
    "refused.now": "上报被拒收，最近一次在 {time}：",
    "refused.before": "最近一次被拒收在 {time}：",
    "refused.log": "查看被拒收的消息",
    "never": "从未",
    back: "← 返回全村概览",
    "latest.title": "当前读数",
    "latest.empty": "还没有收到读数。",
    "latest.age": "{age}",
    "chart.title": "历史曲线",
    "chart.sensor": "传感器",
    "chart.range": "时间范围",
    "chart.empty": "这段时间没有数据。",
    "chart.summary": "{sensor}，{from} 至 {to}：最低 {min}，最高 {max}，平均 {mean}（每格 {step}）。",
    "chart.band": "最低–最高",
    "chart.mean": "平均",
    "chart.threshold": "告警阈值",
    "chart.pick": "选择传感器",
    "range.1h": "1 小时",
    "range.1d": "1 天",
    "range.7d": "1 周",
    "range.custom": "自定义",
    "range.from": "从",
    "range.to": "到",
    "range.apply": "应用",
    "range.invalid": "开始时间必须早于结束时间。",
    "events.title": "最近事件",
    "events.empty": "没有事件。",
    "alerts.title": "告警",
    "alerts.disabled": "告警功能未启用。",
    "alerts.none": "当前没有活动告警。",
    "alerts.active": "活动告警",
    "alerts.history": "最近记录",
    "alerts.history.none": "没有历史告警。",
    "alerts.since": "开始于 {time}",
    "alerts.acked": "已由 {by} 确认",
    "alerts.ack": "确认",
    "alerts.ack.by": "确认人",
    "alerts.ack.comment": "备注",
    "alerts.ack.send": "提交确认",
    "alerts.ack.failed": "确认失败：{error}",
    "alerts.value": "读数 {value}",
    "alerts.silenced": "已静默",
    "alerts.assignee": "负责人：{name}",
    "alerts.unack": "取消确认",
    "alerts.claim": "认领",
    "alerts.unassign": "取消认领",
    "alerts.assign": "指派给…",
    "alerts.assign.to": "指派给",
    "alerts.assign.send": "提交指派",
    "alerts.resolve": "手动恢复",
    "alerts.resolve.note": "处理说明",
    "alerts.resolve.send": "提交恢复",
    "alerts.action.failed": "操作失败：{error}",
    "alerts.timeline": "处理记录",
    "timeline.fired": "触发",
    "timeline.reminded": "再次提醒",
    "timeline.acknowledged": "确认",
    "timeline.unacknowledged": "取消确认",
    "timeline.assigned": "指派",
    "timeline.unassigned": "取消指派",
    "timeline.silenced": "静默",
    "timeline.unsilenced": "静默结束",
    "timeline.resolved": "恢复",
    "timeline.command_sent": "已发送命令",
    "timeline.command_done": "命令已执行",
    "timeline.command_failed": "命令未执行",
    "timeline.command_skipped": "未发送命令",
    "severity.critical": "紧急",
    "severity.major": "严重",
    "severity.warning": "警告",
    "severity.minor": "轻微",
    "severity.info": "提示",
    "alert.state.active": "活动",
    "alert.state.firing": "活动",
    "alert.state.acknowledged": "已确认",
    "alert.state.resolved": "已恢复",
    "alert.state.cleared": "已恢复",
    "alert.state.closed": "已关闭",
    "bool.on": "开",
    "bool.off": "关",
    "bool.smoke.1": "有烟雾",
    "bool.smoke.0": "无烟雾",
    "bool.lamp_state.1": "亮",
    "bool.lamp_state.0": "灭",
    "login.title": "登录",
    "login.name": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.wrong": "用户名或密码不对。",
    "login.throttled": "失败次数太多，请 {seconds} 秒后再试。",
    "auth.login": "登录",
    "login.noAccount": "没有账号？请向这个服务器的管理员要一个：管理员在“用户”页面或用 village-brain users add 添加。刚装好的服务器还没有管理员时，设置链接印在服务器启动时的日志里。",
    "setup.title": "设置第一个管理员",
    "setup.intro": "这个服务器还没有管理员。请为自己设一个用户名和密码：管理员可以添加其他人、管理设备和告警规则。",
    "setup.again": "再输一次密码",
    "setup.rules": "用户名用字母、数字或 . _ @ -；密码至少 8 个字符。",
    "setup.submit": "创建管理员并登录",
    "setup.differ": "两次输入的密码不一样。",
    "setup.badName": "用户名只能用字母、数字或 . _ @ -，最多 64 个。",
    "setup.closed": "这个设置链接已经失效：它已被使用，或来自服务器的上一次启动，或已有管理员。",
    "auth.logout": "退出",
    "role.viewer": "查看",
    "role.operator": "值班",
    "role.admin": "管理员",
  },
  en: {
    skip: "Skip to main content",
    brand: "Village Brain",
    "lang.switch": "中文",
    "lang.label": "切换到中文",
    "live.connecting": "Connecting",
    "live.open": "Live",
    "live.closed": "Disconnected, retrying",
    "footer.tz": "Times in",
    loading: "Loading…",
    "load.failed": "Could not load: {error}",
    "overview.title": "Village overview",
    "overview.summary": "Summary",
    "count.online": "devices online",
    "count.offline": "devices offline",
    "count.refused": "reporting, but refused",
    "count.alerts": "active alerts",
    "filter.village": "Village",
    "filter.sensor": "Sensor type",
    "filter.all": "All",
    "plan.title": "Village plan",
    "plan.empty": "No device has a position yet.",
    "plan.river": "river",
    "plan.scale": "{n} m",
    "plan.unplaced": "{n} devices have no position and appear only in the list below.",
    "devices.title": "Devices",
    "devices.empty": "No device matches.",
    "col.device": "Device",
    "col.state": "State",
    "col.now": "Reading now",
    "col.seen": "Last report",
    "state.ok": "OK",
    "state.alerting": "Alerting",
    "state.offline": "Offline",
    "state.refused": "Reporting, but refused",
    "device.foreign_id": "The device's id in its own family's protocol",
    "refused.now": "Reporting, but refused; last refused at {time}:",
    "refused.before": "Last refused at {time}:",
    "refused.log": "See the refused messages",
    never: "never",
    back: "← Back to the village",
    "latest.title": "Latest readings",
    "latest.empty": "No readings received yet.",
    "latest.age": "{age}",
    "chart.title": "History",
    "chart.sensor": "Sensor",
    "chart.range": "Time range",
    "chart.empty": "No data in this range.",
    "chart.summary": "{sensor}, {from} to {to}: lowest {min}, highest {max}, mean {mean} (buckets of {step}).",
    "chart.band": "min–max",
    "chart.mean": "mean",
    "chart.threshold": "alert threshold",
    "chart.pick": "Pick a sensor",
    "range.1h": "1 hour",
    "range.1d": "1 day",
    "range.7d": "1 week",
    "range.custom": "Custom",
    "range.from": "From",
    "range.to": "To",
    "range.apply": "Apply",
    "range.invalid": "The start must be before the end.",
    "events.title": "Recent events",
    "events.empty": "No events.",
    "alerts.title": "Alerts",
    "alerts.disabled": "Alerts are not enabled.",
    "alerts.none": "No active alerts.",
    "alerts.active": "Active",
    "alerts.history": "Recent history",
    "alerts.history.none": "No past alerts.",
    "alerts.since": "since {time}",
    "alerts.acked": "acknowledged by {by}",
    "alerts.ack": "Acknowledge",
    "alerts.ack.by": "Your name",
    "alerts.ack.comment": "Comment",
    "alerts.ack.send": "Send acknowledgement",
    "alerts.ack.failed": "Could not acknowledge: {error}",
    "alerts.value": "reading {value}",
    "alerts.silenced": "silenced",
    "alerts.assignee": "assigned to {name}",
    "alerts.unack": "Take back acknowledgement",
    "alerts.claim": "Claim",
    "alerts.unassign": "Unassign",
    "alerts.assign": "Assign to…",
    "alerts.assign.to": "Assign to",
    "alerts.assign.send": "Assign",
    "alerts.resolve": "Resolve by hand",
    "alerts.resolve.note": "Note",
    "alerts.resolve.send": "Resolve",
    "alerts.action.failed": "Could not do that: {error}",
    "alerts.timeline": "Timeline",
    "timeline.fired": "fired",
    "timeline.reminded": "reminded",
    "timeline.acknowledged": "acknowledged",
    "timeline.unacknowledged": "acknowledgement taken back",
    "timeline.assigned": "assigned",
    "timeline.unassigned": "unassigned",
    "timeline.silenced": "silenced",
    "timeline.unsilenced": "silence ended",
    "timeline.resolved": "resolved",
    "timeline.command_sent": "command sent",
    "timeline.command_done": "command done",
    "timeline.command_failed": "command failed",
    "timeline.command_skipped": "command not sent",
    "severity.critical": "critical",
    "severity.major": "major",
    "severity.warning": "warning",
    "severity.minor": "minor",
    "severity.info": "info",
    "alert.state.active": "active",
    "alert.state.firing": "active",
    "alert.state.acknowledged": "acknowledged",
    "alert.state.resolved": "resolved",
    "alert.state.cleared": "cleared",
    "alert.state.closed": "closed",
    "bool.on": "on",
    "bool.off": "off",
    "bool.smoke.1": "smoke",
    "bool.smoke.0": "clear",
    "bool.lamp_state.1": "lit",
    "bool.lamp_state.0": "dark",
    "login.title": "Log in",
    "login.name": "Name",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.wrong": "Wrong name or password.",
    "login.throttled": "Too many failed attempts; try again in {seconds} s.",
    "auth.login": "Log in",
    "login.noAccount": "No account? Ask this server's administrator for one: admins add people on the Users page or with village-brain users add. On a new server with no admin yet, the setup link is in the server's log from its start.",
    "setup.title": "Set up the first admin",
    "setup.intro": "This server has no admin yet. Choose a name and password for yourself: an admin adds other people and manages devices and alert rules.",
    "setup.again": "Password again",
    "setup.rules": "Names use letters, digits or . _ @ -; passwords have at least 8 characters.",
    "setup.submit": "Create the admin and log in",
    "setup.differ": "The two passwords differ.",
    "setup.badName": "A name uses only letters, digits or . _ @ -, at most 64.",
    "setup.closed": "This setup link no longer works: it was used, it is from an earlier start of the server, or an admin exists already.",
    "auth.logout": "Log out",
    "role.viewer": "viewer",
    "role.operator": "operator",
    "role.admin": "admin",
  },
};

const SENSORS = {
  water_level: ["水位", "Water level"],
  rainfall: ["降雨量", "Rainfall"],
  water_ph: ["水体 pH", "Water pH"],
  turbidity: ["浊度", "Turbidity"],
  dissolved_oxygen: ["溶解氧", "Dissolved oxygen"],
  soil_moisture: ["土壤湿度", "Soil moisture"],
  soil_temperature: ["土壤温度", "Soil temperature"],
  air_temperature: ["气温", "Air temperature"],
  air_humidity: ["空气湿度", "Air humidity"],
  illuminance: ["光照", "Illuminance"],
  pm2_5: ["PM2.5", "PM2.5"],
  pm10: ["PM10", "PM10"],
  smoke: ["烟雾", "Smoke"],
  combustible_gas: ["可燃气体", "Combustible gas"],
  lamp_state: ["路灯开关", "Lamp state"],
  lamp_power: ["路灯功率", "Lamp power"],
  cover_tilt: ["井盖倾角", "Cover tilt"],
  battery_voltage: ["电池电压", "Battery voltage"],
  rssi: ["信号强度", "Signal strength"],
  valve_position: ["阀门开度", "Valve position"],
  sluice_position: ["闸门开度", "Sluice position"],
  pump_state: ["水泵", "Pump"],
  siren_state: ["警报器", "Siren"],
  gate_state: ["大门", "Gate"],
};

const KINDS = {
  river_gauge: ["水位站", "river gauge"],
  weather_station: ["气象站", "weather station"],
  street_lamp: ["路灯", "street lamp"],
  soil_probe: ["土壤探头", "soil probe"],
  water_quality_buoy: ["水质浮标", "water quality buoy"],
  smoke_detector: ["烟感", "smoke detector"],
  manhole_cover: ["井盖", "manhole cover"],
  unknown: ["未分类", "kind not set"],
  sluice_gate: ["闸门", "sluice gate"],
  siren: ["警报器", "siren"],
};

// The reasons of PROTOCOL.md §10, in words: what the operator tells the device's owner.
const REASONS = {
  bad_topic: ["主题格式不对", "the topic is not a village topic"],
  payload_too_large: ["消息太大", "the message is too large"],
  unknown_device: ["设备未登记", "the device is not registered"],
  wrong_village: ["设备登记在别的村", "the device is registered in another village"],
  bad_json: ["数据不是有效的 JSON", "the data is not valid JSON"],
  too_deep: ["JSON 嵌套太深", "the JSON is nested too deeply"],
  unknown_format: ["无法识别的数据格式", "the data is in no known format"],
  bad_payload: ["数据结构不对", "the data has the wrong shape"],
  too_many_readings: ["一条消息里读数太多", "too many readings in one message"],
  unknown_sensor: ["未知的传感器类型", "a sensor type that is not in the catalog"],
  wrong_type: ["数值类型不对", "a value of the wrong kind"],
  not_finite: ["数值不是有限的数", "a value that is not a finite number"],
  unknown_unit: ["单位无法换算", "a unit that cannot be converted"],
  out_of_range: ["读数超出有效范围", "a reading outside the valid range"],
  bad_timestamp: ["时间格式不对", "a time that cannot be read"],
  timestamp_future: ["时间在将来（设备时钟偏快）", "a time in the future (the device clock is ahead)"],
  timestamp_too_old: ["时间太久远", "a time too far in the past"],
  rate_limited: ["上报过于频繁", "far more readings than the device should send"],
  internal_error: ["服务器处理出错", "the server failed on it"],
  unknown_metric: ["未在 BIRTH 中定义的指标", "a metric no BIRTH message defined"],
  out_of_sequence: ["消息序号中断（有消息丢失）", "a gap in the message sequence (messages were lost)"],
  unsupported_template: ["不支持的取值模板", "a value template that cannot be read"],
  duplicate_sensor: ["同一设备重复的传感器类型", "a sensor type the device already has from another entity"],
  too_many_entities: ["自动发现的实体太多", "more discovered entities than allowed"],
  not_allowed: ["令牌无权为该设备上报", "the token may not post for this device"],
};

function initialLanguage() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage may be blocked; the configured default still applies.
  }
  if (stored === "zh" || stored === "en") return stored;
  return config.language === "en" ? "en" : "zh";
}

let current = initialLanguage();
const listeners = [];

export function lang() {
  return current;
}

export function locale() {
  return current === "zh" ? "zh-CN" : "en-GB";
}

export function t(key, vars = {}) {
  const text = TEXT[current][key] ?? TEXT.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function sensorName(id) {
  const names = SENSORS[id];
  return names ? names[current === "zh" ? 0 : 1] : id;
}

export function kindName(id) {
  const names = KINDS[id];
  return names ? names[current === "zh" ? 0 : 1] : id;
}

export function kindIds() {
  return Object.keys(KINDS);
}

// Words a page keeps in its own module, so that each page's texts stay together.
export function addTexts(more) {
  for (const [language, words] of Object.entries(more)) Object.assign(TEXT[language], words);
}

export function reasonName(code) {
  const names = REASONS[code];
  return names ? names[current === "zh" ? 0 : 1] : code;
}

export function onLanguageChange(listener) {
  listeners.push(listener);
}

export function setLanguage(next) {
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Without storage the choice lasts for this page only.
  }
  applyTranslations();
  for (const listener of listeners) listener(next);
}

export function applyTranslations(root = document) {
  document.documentElement.lang = locale();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAria));
  }
  const button = document.getElementById("lang-switch");
  if (button) {
    button.textContent = t("lang.switch");
    button.lang = current === "zh" ? "en" : "zh-CN";
    button.setAttribute("aria-label", t("lang.label"));
  }
}
