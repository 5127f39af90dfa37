"""The built-in scorer: weighted words of events, of the people and places they happen to, and of the
genres (reviews, fiction, games, markets, sport) where the same words mean nothing for the county.

It needs no training and no file, so the review list works out of the box. The score is a logistic of

    BIAS + min(events, EVENT_CAP) + min(context, CONTEXT_CAP) + max(genre, GENRE_CAP)

with each distinct word counted once. Context alone (村民, 政府, 今天) never reaches the threshold: a
message needs at least one event word, and one strong event word needs some context (or a second event
word) to get on the list. An event word just after a negation (没有, 未, 无) does not count.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

from rules.reviewnet.features import fold
from rules.reviewnet.score import TOP_FEATURES, ReviewScore, sigmoid

BIAS = -4.0
EVENT_CAP = 6.0
CONTEXT_CAP = 2.0
GENRE_CAP = -4.5
NEGATION_CUES = ("没有", "没", "无", "未", "并非", "不是", "不存在", "谣传")
NEGATION_WINDOW = 3  # characters before the word


def _words(weight: float, text: str) -> dict[str, float]:
    return dict.fromkeys(text.split(), weight)


# 事件: what happened. 3.0 is an incident on its face; 2.0 usually one; 1.2 often one, often not.
EVENTS: dict[str, float] = {
    **_words(3.0, """爆炸 坍塌 垮塌 塌方 伤亡 死伤 遇难 罹难 丧生 溺亡 身亡 致死 致伤 撞死 撞伤 相撞 翻车 侧翻
        车祸 起火 失火 着火 火灾 燃爆 闪爆 泄漏 泄露 中毒 堵路 拦路 封堵 讨薪 欠薪 拖欠工资 拖欠工资款
        拖欠工程款 讨要工资 讨要工钱 血汗钱 工钱 罢工 罢课 罢市 跑路 爆雷 暴雷 非法集资 集资诈骗 上访 越级上访
        聚集 围堵 打砸 强拆 暴力拆迁 砍人 持刀 行凶 杀人 命案 凶杀 跳楼 轻生 溃坝 决堤 泥石流 山体滑坡 塌陷 地陷
        烂尾 殴打 打人 斗殴 群殴 猥亵 性侵 霸凌 体罚 医闹 医疗事故 讨说法 拉横幅 打横幅 静坐 示威 冲突 纵火 投毒
        食物中毒 地沟油 病死猪 偷排 直排 乱排 恶臭 黑臭 停水 停电 断水 断电 停气 停暖 不供暖 延期交房 逾期交房
        退房无门 退款无门 补偿款 拆迁款 征地款 强征 吃拿卡要 不作为 乱收费 保护伞 黑恶 涉黑 走失 失联 被困 被埋
        被砸 被撞 被打 被殴打 抢劫 盗窃 群体性 维权 讨债 暴力催收 逼债 追尾 连环撞 撞在一起 失控 坠河 坠楼 坠落
        摔下来 掉下去 透水 冒顶 矿难 垮坝 溃堤 管涌 围殴 砸伤 压塌 被压 抢救无效 误诊 上吐下泻 挖断 燃气味
        煤气味 收红包 吃回扣 优亲厚友 截留 克扣 挪用 侵占 贪占 罢运 停运 寻人 走丢 没回家"""),
    **_words(2.0, """死亡 去世 受伤 重伤 伤者 死者 遇害 失踪 污染 排污 拆迁 征地 拖欠 欠款 欠钱 讨要 追讨 集资
        诈骗 骗局 传销 贪污 受贿 索贿 腐败 违纪 渎职 洪水 内涝 暴雨 冰雹 山火 塌了 倒塌 淹了 漏水 停工 欠费 断供
        维稳 信访 投诉无门 求助无门 无人处理 没人处理 没人管 无人管 不管不问 推诿 扯皮 索要 威胁 恐吓 报复 打伤
        砍伤 刺伤 烧伤 烫伤 摔伤 感染 确诊 病例 传染 变质 过期 异物 虫子 霉变 造假 假药 假疫苗 欺诈 坑骗 谣言
        辟谣 滞留 堵车 瘫痪 事故 险情 撤离 疏散 渗水 碎裂 拉肚子 腹泻 呕吐 怪味 异味 粉尘 扰民 噪音 红包 回扣
        低保 不行了 抢购 封城 传言"""),
    **_words(1.2, """地震 台风 疫情 火情 警情 纠纷 矛盾 争执 争吵 抗议 不满 愤怒 曝光 举报 揭露 黑幕 内幕 真相
        隐瞒 掩盖 压下 删帖 封口 索赔 赔偿 赔偿款 补偿"""),
}

# Harm and grievance as people write it: 被打了, 钱退不回来, 没人理. Added after the first lexicon missed
# 17 of 20 new posts written in plain words; each is common in complaints and rare in reviews.
GRIEVANCES: dict[str, float] = {
    **_words(3.0, """割腕 自残 跳河 上吊 喝农药 服毒 虐待 童工 卷款 人去楼空 血本无归 不发工资 发不出工资
        没发工资 工资没发 拿不到工资 要不到钱 钱退不回来 存款没了 骗走 被骗 冲垮 冲毁 危桥 危房 毒气 氨气
        封锁消息 捂盖子"""),
    **_words(2.0, """砸了 砸坏 撞了 撞人 打伤了 欺负 刁难 掉进 掉下 被淹 进水 泡在水里 裂缝 裂了 爆了 炸了
        冒黑烟 黑烟 有毒 熏 呛 安全隐患 隐患 太危险 没人理 不归 踢皮球 打压 拒载 宰客 强买强卖 乱罚款 退不回来
        退不了 骗了 转走 不见了 关门了 头晕 咳嗽 住院 送到医院 进了医院 急诊 骨折 流血 昏迷 缝了 伤了 受伤了"""),
}

# By the county's risk areas (食品药品, 治安, 教育, 医疗, 交通, 干部作风, 违建, 金融): the words of each
# area's common complaints that the lists above lack.
AREAS: dict[str, float] = {
    **_words(3.0, """注水肉 瘦肉精 病死 死猪 偷工减料 豆腐渣 见死不救 肇事逃逸 逃逸 酒驾 醉驾 敲诈 勒索 高利贷 套路贷
        有偿补课 公车私用 大吃大喝 乱倒 倾倒 山洪 雪灾"""),
    **_words(2.0, """没有回音 没人回复 石沉大海 不了了之 耽误 延误 先交钱 强制消费 另外收钱 吵起来 打起来 违建
        违章建筑 私搭乱建 扬尘 垃圾堆 发臭 臭了 扔在 超载 无证 违规 p0p 网传 门难进 脸难看 事难办 打官腔
        摔倒 没人敢扶 开裂"""),
}

# Pieces of how harm is told (撞倒, 浓烟, 晕倒, 打不通, 私了): each says little, three together say a lot.
# Weighted low, so they lift a post only with others or with context.
SIGNS: dict[str, float] = {
    **_words(1.0, """撞倒 撞飞 撞上 出血 满身血 晕倒 昏倒 倒地 刺鼻 浓烟 白烟 冒烟 烟雾 燃烧 烧毁 烧光 砸到
        砸中 咬伤 被咬 耳光 骂人 打骂 辱骂 踹 强行 强占 霸占 私了 不肯赔 拒赔 不赔 赔钱 道歉 返利 月返 高息
        高回报 打不通 联系不上 找不到人 扣钱 扣了 输错 打错针 吃出 变色 浑浊 沉淀 能不能喝 臭水 围在 围着
        堵在 聚在 集体 一起去 上门 逼 抢 偷 骗 欠 淹 塌 毒 亡 伤 血 砸 烧 炸 撞 晕 困 病倒 不敢 害怕 吓 担心
        出事 出了事 意外 惨 可怜 心疼 天理 凭什么 为什么没人 谁来管 怎么办 到底 还我 求求"""),
}

# 人和地方: whom and where; capped, so it only ever helps an event word.
CONTEXT: dict[str, float] = {
    **_words(1.0, """村民 群众 业主 工人 农民工 民工 家长 患者 家属 乘客 司机 学生 老人 孩子 小孩 住户 商户 居民
        消防 民警 警方 警察 派出所 报警 救护车 送医 抢救 急救 现场 多人 数十 上百 一男子 一女子 男子 女子 求助
        未成年人 留守 孤寡 庄稼 工友 学员 储户 救命 求转发 扩散 转发 求关注 投诉 反映 讨个说法 给个说法 希望
        相关部门 有关部门 政府 镇政府 县政府 乡政府 村委会 村委 村干部 村支书 书记 镇长 乡长 县长 城管 开发商
        物业 老板 包工头 项目部 工地 工厂 厂区 厂里 煤矿 矿井 化工厂 小区 学校 幼儿园 医院 卫生院 我们村 我们镇
        我们县 村里 镇上 县里 县城 乡镇 街道 本县 我县 我镇 今天 今早 今晚 昨天 昨晚 凌晨 刚刚 刚才 目前 突发
        发生 紧急 至今 矿工 游客 施工队 景区 商场 整栋楼 整条街 大家 好几 几十个 十几个 几百 所有人 有人 听说
        不知道是不是真的 都在传 现在 视频 窗口 办事 办证 工作人员 干部 部门 严重 半年 一年 三个月 几个月 多次
        好几次"""),
}

# 体裁: the same words in a review, a novel, a game, a market report or a match report.
GENRES: dict[str, float] = {
    **_words(-2.0, """小说 电影 影片 剧情 剧中 本书 这本书 此书 读者 作者 书中 情节 主角 主人公 男主 女主 演员
        导演 看完 好看 游戏 玩家 副本 关卡 手游 网游 酒店 入住 前台 早餐 快递 物流 包装 发货 卖家 商家 性价比
        好评 差评 宝贝 历史上 古代 朝代 清朝 明朝 唐朝 宋朝 二战 股票 股市 基金 涨停 跌停 大盘 个股 板块 比赛
        球队 联赛 冠军 球员 票房 综艺 明星 歌手 专辑 科幻 动漫 漫画 新书 出版 章节 电视剧 纪录片 预告片 上映
        主演 演技 剧组 网剧 楼市 房价 楼盘 开盘 户型 手机 笔记本 屏幕 键盘 电池 外观 价位 赛季 季后赛"""),
    # Elsewhere: a story abroad is not the county's (the rules' `places:` handles the provinces).
    **_words(-2.0, """美国 英国 法国 德国 日本 韩国 朝鲜 印度 俄罗斯 意大利 西班牙 希腊 土耳其 伊朗 伊拉克
        叙利亚 阿富汗 巴基斯坦 以色列 巴勒斯坦 埃及 也门 利比亚 尼日利亚 南非 墨西哥 巴西 秘鲁 智利 阿根廷
        哥伦比亚 委内瑞拉 危地马拉 缅甸 泰国 越南 菲律宾 印尼 印度尼西亚 马来西亚 澳大利亚 新西兰 加拿大 乌克兰
        欧洲 非洲 中东 拉美 纽约 洛杉矶 伦敦 巴黎 东京 首尔 莫斯科 外媒 海外 境外"""),
    # Court reports of an old case, and notices of drills and campaigns, are news but no new incident.
    **_words(-1.0, """判处 判决 一审 二审 终审 宣判 获赔 判赔 被判 开庭 落网 获刑 专项行动 部署 召开 会议 通报会"""),
    # Said of a story to close it, by someone who knows: not a new one.
    **_words(-1.5, """不是真的 没有这回事 假消息 已恢复 恢复正常 已修复 已经修好 演习 演练 应急演练"""),
    # Hotel stays and computers: the reviews where 异味, 停电 and 爆炸 are complaints about a product.
    **_words(-1.0, """房间 服务员 隔音 床单 卫生间 电脑 系统 驱动 光驱 显卡 声卡 风扇 触摸板 机器 开机 重装 分区
        点评 客房 退房 入住了"""),
    **_words(-1.0, """推荐 购买 买的 价格 质量 不错 喜欢 满意 值得 一般般 还行 失望 服务态度 的书 看书 读书 模拟
        科普 知识 小贴士 教你 攻略 指南 测评 评测"""),
}

# Ordinary phrases that hold an event word (马上访问 holds 上访, 时间不冲突 holds 冲突). The automaton
# reads the leftmost longest match, so such a phrase is read whole and counts for nothing.
NEUTRAL: frozenset[str] = frozenset(_words(0.0, """马上访 时间冲突 不冲突 冲突的话 爆炸性 爆炸头 信息爆炸 知识爆炸
    人气爆棚 火灾险 失火险 事故险 打人民币"""))


class LexiconScorer:
    """Scores folded text by the weighted words above (or others given, for a county's own lexicon)."""

    def __init__(self, events: dict[str, float] | None = None, context: dict[str, float] | None = None,
                 genres: dict[str, float] | None = None) -> None:
        self.events = events if events is not None else {**SIGNS, **AREAS, **GRIEVANCES, **EVENTS}
        self.context = context if context is not None else CONTEXT
        self.genres = genres if genres is not None else GENRES
        self._automaton = _automaton([*self.events, *self.context, *self.genres, *NEUTRAL])

    @property
    def name(self) -> str:
        return "lexicon"

    def score(self, text: str) -> ReviewScore:
        folded = fold(text)
        events: dict[str, float] = {}
        context: dict[str, float] = {}
        genre = 0.0
        for end, word in self._automaton.iter_long(folded):
            if word in self.events:
                if word not in events and not _negated(folded, end + 1 - len(word)):
                    events[word] = self.events[word]
            elif word in self.context:
                context.setdefault(word, self.context[word])
            elif word in self.genres:
                genre += self.genres[word]  # each occurrence: a review says "好看" and means it
        logit = (BIAS + min(sum(events.values()), EVENT_CAP) + min(sum(context.values()), CONTEXT_CAP)
                 + max(genre, GENRE_CAP))
        pushing = sorted([*events.items(), *context.items()], key=lambda kv: (-kv[1], kv[0]))[:TOP_FEATURES]
        return ReviewScore(sigmoid(logit), tuple(pushing))


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - NEGATION_WINDOW) : start]
    return any(cue in before for cue in NEGATION_CUES)


def _automaton(words: Iterable[str]) -> ahocorasick.Automaton:
    """One automaton for all words; read with ``iter_long`` (leftmost longest, no overlaps), so 拖欠工资
    is found as itself and not also as 拖欠."""
    automaton = ahocorasick.Automaton()
    for word in words:
        if word:
            automaton.add_word(fold(word), word)
    automaton.make_automaton()
    return automaton
