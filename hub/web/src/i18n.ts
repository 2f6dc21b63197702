// Chinese first (the city's working language), English on the toggle; the choice is kept.
export type Lang = "zh" | "en";

const TEXT: Record<string, [string, string]> = {
  title: ["滨海新区城市运营中心", "Binhai City Operations Centre"],
  subtitle: ["一张图感知城市", "One map senses the city"],
  signIn: ["使用城市数据中枢账号登录", "Sign in with the city hub"],
  signOut: ["退出", "Sign out"],
  signingIn: ["正在登录…", "Signing in…"],
  loginHint: [
    "通过数据中枢的 OAuth 2（授权码 + PKCE）登录；所见数据遵循您的访问策略。",
    "Sign in through the hub's OAuth 2 (authorization code + PKCE); what you see follows your access policies.",
  ],
  map: ["一张图", "Map"],
  cases: ["案件", "Cases"],
  entity: ["实体360°", "Entity 360°"],
  finance: ["智慧金融", "Smart finance"],
  policies: ["访问策略", "Policies"],
  audit: ["审计日志", "Audit log"],
  layers: ["图层", "Layers"],
  outline: ["区界", "District outline"],
  gridCells: ["网格（按未结案件着色）", "Grid cells (by open cases)"],
  layerCases: ["案件", "Cases"],
  layerHazchem: ["危化品场所", "Hazchem sites"],
  layerVehicles: ["车辆（实时）", "Vehicles (live)"],
  layerRivers: ["河流", "Rivers"],
  layerStations: ["水质站（按类别）", "Water stations (by class)"],
  layerPumps: ["泵站", "Pump stations"],
  layerCameras: ["摄像头", "Cameras"],
  layerAlarms: ["告警", "Alarms"],
  unavailable: ["暂无数据源", "not available"],
  details: ["详情", "Details"],
  clickHint: ["点击地图上的对象查看详情", "Click anything on the map for its details"],
  kpiOpen: ["未结案件", "Open cases"],
  kpiOverdue: ["超期案件", "Overdue"],
  kpiAlarms: ["今日告警", "Today's alarms"],
  kpiWatched: ["重点关注企业", "Watched firms"],
  kpiViolations: ["违规车辆", "Vehicles in violation"],
  alarmFeed: ["实时告警", "Live alarms"],
  live: ["实时", "live"],
  offline: ["断开", "offline"],
  noAlarms: ["暂无告警", "No alarms yet"],
  filter: ["筛选", "Filter"],
  status: ["状态", "Status"],
  channel: ["渠道", "Channel"],
  grid: ["网格", "Grid"],
  department: ["部门", "Department"],
  all: ["全部", "All"],
  apply: ["查询", "Apply"],
  timeline: ["时间线", "Timeline"],
  actions: ["处置", "Actions"],
  noCases: ["案件应用尚未提供数据", "The case app offers no data yet"],
  run: ["执行", "Run"],
  search: ["搜索", "Search"],
  searchHint: ["企业名称、车牌、地点、统一社会信用代码…", "Firm name, plate, place, credit code…"],
  sources: ["数据来源", "Sources"],
  relations: ["关系", "Relations"],
  neighbourhood: ["关系网络", "Neighbourhood"],
  noHits: ["无结果", "No results"],
  smokeIndex: ["冒烟指数", "Smoke index"],
  noFinance: ["智慧金融应用尚未提供数据", "The finance app offers no data yet"],
  policy: ["策略", "Policy"],
  versions: ["版本", "Versions"],
  saveDraft: ["保存草稿", "Save draft"],
  dryRun: ["试运行（差异）", "Dry run (diff)"],
  publish: ["发布", "Publish"],
  rollback: ["回滚", "Roll back"],
  reason: ["原因", "Reason"],
  stewardsOnly: ["仅数据管理员可用", "For data stewards only"],
  action: ["操作", "Action"],
  principal: ["主体", "Principal"],
  more: ["更多", "More"],
  time: ["时间", "Time"],
  types: ["类型", "Types"],
  cell: ["网格", "Grid cell"],
  inspector: ["网格员", "Inspector"],
  phone: ["电话", "Phone"],
  error: ["出错", "Error"],
  loading: ["加载中…", "Loading…"],
  done: ["完成", "Done"],
  draftSaved: ["草稿已保存：版本", "Draft saved: version"],
  published: ["已发布：版本", "Published: version"],
  rolledBack: ["已回滚：现行版本", "Rolled back: now version"],
  validation: ["校验", "Validation"],
  ok: ["通过", "OK"],
  principalCol: ["主体", "Principal"],
  typeCol: ["类型", "Type"],
  accessCol: ["访问（前→后）", "Access (before→after)"],
  fieldsCol: ["字段变化", "Fields gained / lost"],
  maskedCol: ["脱敏（前→后）", "Masked (before→after)"],
  rowsCol: ["行数（前→后）", "Rows (before→after)"],
  noChange: ["无变化", "No change"],
  role: ["角色", "Role"],
  byOpen: ["网格着色：未结案件", "Cells by open cases"],
  byOverdue: ["网格着色：超期率", "Cells by overdue rate"],
};

let lang: Lang = (localStorage.getItem("ops-lang") as Lang) || "zh";

export function t(key: string): string {
  const pair = TEXT[key];
  if (!pair) return key;
  return lang === "zh" ? pair[0] : pair[1];
}

export function currentLang(): Lang {
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem("ops-lang", next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
}
