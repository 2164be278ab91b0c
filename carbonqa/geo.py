"""Chinese names of prefecture-level divisions (地市) for the places named in the GCPT registry.

Source: the official Chinese names of the administrative divisions of the PRC as listed in
GB/T 2260 (中华人民共和国行政区划代码, kept current by the Ministry of Civil Affairs), full name with
its suffix (``市`` / ``地区`` / ``盟`` / ``自治州``). The table is keyed by the GB/T 2260 province code
and the English prefecture name *as spelled in* the GEM Global Coal Plant Tracker column
``Major area (prefecture, district)`` (``gcpt_2024-07_china_coal_units.csv``); it covers every
(province, prefecture) pair of that file, whatever the unit status (320 pairs, 284 among operating
units). It was written by hand; ``tests/carbonqa/test_geo.py`` checks the coverage against the file.

Spellings that GEM uses for the same division (long forms, typos, county-level cities or former
prefectures that now belong to a prefecture) are in :data:`ALIASES`, each with the reason, so that
:data:`PREFECTURE_ZH` names every division once per province.

Exceptions to "one prefecture-level division": the province-administered county-level cities
(省直辖县级行政区划, GB/T 2260 codes ``xx90xx``) have no prefecture above them and are their own
jurisdiction — ``济源市`` (Henan), ``潜江市`` / ``仙桃市`` (Hubei), the XPCC cities of Xinjiang
(``石河子市``, ``五家渠市``, ``可克达拉市`` …) and Hainan's ``东方市`` / ``乐东黎族自治县`` (the only
name here not ending in 市/州/盟/地区); they are listed in :data:`DIRECT_COUNTY_LEVEL`.

Blank ``Major area`` (rule of :func:`city_zh`, in this order):

1. ``Local area (taluk, county)``, then ``Location``, looked up in :data:`PREFECTURE_ZH` (e.g.
   ``Danzhou``) or :data:`COUNTY_ZH` (a county-level place → its division, e.g. ``Shihezi`` → 石河子市);
2. a place named in ``Plant name (local)`` (:data:`LOCAL_NAME_HINTS`, e.g. ``青铜峡…`` → 吴忠市);
3. otherwise the provincial capital (``carbonqa.synth.params.PROVINCE_CAPITAL``, a model choice) —
   for the four municipalities (北京/天津/上海/重庆) that *is* the right division.
"""

from __future__ import annotations

__all__ = [
    "PREFECTURE_ZH",
    "ALIASES",
    "COUNTY_ZH",
    "LOCAL_NAME_HINTS",
    "DIRECT_COUNTY_LEVEL",
    "prefecture_zh",
    "city_zh",
]

#: (GB/T 2260 province code, canonical GCPT English name) → official Chinese name with suffix.
PREFECTURE_ZH: dict[tuple[str, str], str] = {
    # 11 北京 / 12 天津 / 31 上海 / 50 重庆: municipalities; GCPT leaves the prefecture blank, these are
    # the names PROVINCE_CAPITAL gives them (the municipality is the city-level jurisdiction).
    ("11", "Beijing"): "北京市",
    ("12", "Tianjin"): "天津市",
    ("31", "Shanghai"): "上海市",
    ("50", "Chongqing"): "重庆市",
    # 13 河北
    ("13", "Baoding"): "保定市",
    ("13", "Cangzhou"): "沧州市",
    ("13", "Chengde"): "承德市",
    ("13", "Handan"): "邯郸市",
    ("13", "Hengshui"): "衡水市",
    ("13", "Langfang"): "廊坊市",
    ("13", "Qinhuangdao"): "秦皇岛市",
    ("13", "Shijiazhuang"): "石家庄市",
    ("13", "Tangshan"): "唐山市",
    ("13", "Xingtai"): "邢台市",
    ("13", "Zhangjiakou"): "张家口市",
    # 14 山西
    ("14", "Changzhi"): "长治市",
    ("14", "Datong"): "大同市",
    ("14", "Jincheng"): "晋城市",
    ("14", "Jinzhong"): "晋中市",
    ("14", "Linfen"): "临汾市",
    ("14", "Lüliang"): "吕梁市",
    ("14", "Shuozhou"): "朔州市",
    ("14", "Taiyuan"): "太原市",
    ("14", "Xinzhou"): "忻州市",
    ("14", "Yangquan"): "阳泉市",
    ("14", "Yuncheng"): "运城市",
    # 15 内蒙古
    ("15", "Alxa"): "阿拉善盟",
    ("15", "Baotou"): "包头市",
    ("15", "Bayannur"): "巴彦淖尔市",
    ("15", "Chifeng"): "赤峰市",
    ("15", "Hinggan"): "兴安盟",
    ("15", "Hohhot"): "呼和浩特市",
    ("15", "Hulunbuir"): "呼伦贝尔市",
    ("15", "Ordos"): "鄂尔多斯市",
    ("15", "Tongliao"): "通辽市",
    ("15", "Ulanqab"): "乌兰察布市",
    ("15", "Wuhai"): "乌海市",
    ("15", "Xilingol"): "锡林郭勒盟",
    # GEM data error: one plant under construction (国神公司博州…, 44.9°N 82.1°E) lies in Xinjiang's
    # Bortala but is filed under Inner Mongolia; named as GEM says, the province is left as filed.
    ("15", "Bortala Mongol Autonomous Prefecture"): "博尔塔拉蒙古自治州",
    # 21 辽宁
    ("21", "Anshan"): "鞍山市",
    ("21", "Benxi"): "本溪市",
    ("21", "Chaoyang"): "朝阳市",
    ("21", "Dalian"): "大连市",
    ("21", "Dandong"): "丹东市",
    ("21", "Fushun"): "抚顺市",
    ("21", "Fuxin"): "阜新市",
    ("21", "Huludao"): "葫芦岛市",
    ("21", "Jinzhou"): "锦州市",
    ("21", "Liaoyang"): "辽阳市",
    ("21", "Panjin"): "盘锦市",
    ("21", "Shenyang"): "沈阳市",
    ("21", "Tieling"): "铁岭市",
    ("21", "Yingkou"): "营口市",
    # 22 吉林
    ("22", "Baicheng"): "白城市",
    ("22", "Baishan"): "白山市",
    ("22", "Changchun"): "长春市",
    ("22", "Jilin"): "吉林市",
    ("22", "Liaoyuan"): "辽源市",
    ("22", "Siping"): "四平市",
    ("22", "Songyuan"): "松原市",
    ("22", "Tonghua"): "通化市",
    ("22", "Yanbian"): "延边朝鲜族自治州",
    # 23 黑龙江
    ("23", "Daqing"): "大庆市",
    ("23", "Harbin"): "哈尔滨市",
    ("23", "Hegang"): "鹤岗市",
    ("23", "Heihe"): "黑河市",
    # Jiagedaqi (加格达奇区) is a district, the seat of the Da Hinggan Ling prefecture.
    ("23", "Jiagedaqi"): "大兴安岭地区",
    ("23", "Jiamusi"): "佳木斯市",
    ("23", "Jixi"): "鸡西市",
    ("23", "Mudanjiang"): "牡丹江市",
    ("23", "Qiqihar"): "齐齐哈尔市",
    ("23", "Qitaihe"): "七台河市",
    ("23", "Shuangyashan"): "双鸭山市",
    ("23", "Suihua"): "绥化市",
    ("23", "Yichun"): "伊春市",
    # 32 江苏
    ("32", "Changzhou"): "常州市",
    ("32", "Huai'an"): "淮安市",
    ("32", "Lianyungang"): "连云港市",
    ("32", "Nanjing"): "南京市",
    ("32", "Nantong"): "南通市",
    ("32", "Suqian"): "宿迁市",
    ("32", "Suzhou"): "苏州市",
    ("32", "Taizhou"): "泰州市",
    ("32", "Wuxi"): "无锡市",
    ("32", "Xuzhou"): "徐州市",
    ("32", "Yancheng"): "盐城市",
    ("32", "Yangzhou"): "扬州市",
    ("32", "Zhenjiang"): "镇江市",
    # 33 浙江
    ("33", "Hangzhou"): "杭州市",
    ("33", "Huzhou"): "湖州市",
    ("33", "Jiaxing"): "嘉兴市",
    ("33", "Jinhua"): "金华市",
    ("33", "Ningbo"): "宁波市",
    ("33", "Quzhou"): "衢州市",
    ("33", "Shaoxing"): "绍兴市",
    ("33", "Taizhou"): "台州市",
    ("33", "Wenzhou"): "温州市",
    ("33", "Zhoushan"): "舟山市",
    # 34 安徽
    ("34", "Anqing"): "安庆市",
    ("34", "Bengbu"): "蚌埠市",
    ("34", "Bozhou"): "亳州市",
    ("34", "Chizhou"): "池州市",
    ("34", "Chuzhou"): "滁州市",
    ("34", "Fuyang"): "阜阳市",
    ("34", "Hefei"): "合肥市",
    ("34", "Huaibei"): "淮北市",
    ("34", "Huainan"): "淮南市",
    ("34", "Lu'an"): "六安市",
    ("34", "Ma'anshan"): "马鞍山市",
    ("34", "Suzhou"): "宿州市",
    ("34", "Tongling"): "铜陵市",
    ("34", "Wuhu"): "芜湖市",
    ("34", "Xuancheng"): "宣城市",
    # 35 福建
    ("35", "Fuzhou"): "福州市",
    ("35", "Longyan"): "龙岩市",
    ("35", "Nanping"): "南平市",
    ("35", "Ningde"): "宁德市",
    ("35", "Putian"): "莆田市",
    ("35", "Quanzhou"): "泉州市",
    ("35", "Sanming"): "三明市",
    ("35", "Xiamen"): "厦门市",
    ("35", "Zhangzhou"): "漳州市",
    # 36 江西
    ("36", "Fuzhou"): "抚州市",
    ("36", "Ganzhou"): "赣州市",
    ("36", "Ji'an"): "吉安市",
    ("36", "Jingdezhen"): "景德镇市",
    ("36", "Jiujiang"): "九江市",
    ("36", "Nanchang"): "南昌市",
    ("36", "Pingxiang"): "萍乡市",
    ("36", "Shangrao"): "上饶市",
    ("36", "Xinyu"): "新余市",
    ("36", "Yichun"): "宜春市",
    ("36", "Yingtan"): "鹰潭市",
    # 37 山东
    ("37", "Binzhou"): "滨州市",
    ("37", "Dezhou"): "德州市",
    ("37", "Dongying"): "东营市",
    ("37", "Heze"): "菏泽市",
    ("37", "Jinan"): "济南市",
    ("37", "Jining"): "济宁市",
    ("37", "Liaocheng"): "聊城市",
    ("37", "Linyi"): "临沂市",
    ("37", "Qingdao"): "青岛市",
    ("37", "Rizhao"): "日照市",
    ("37", "Tai'an"): "泰安市",
    ("37", "Weifang"): "潍坊市",
    ("37", "Weihai"): "威海市",
    ("37", "Yantai"): "烟台市",
    ("37", "Zaozhuang"): "枣庄市",
    ("37", "Zibo"): "淄博市",
    # 41 河南
    ("41", "Anyang"): "安阳市",
    ("41", "Hebi"): "鹤壁市",
    ("41", "Jiaozuo"): "焦作市",
    ("41", "Jiyuan"): "济源市",  # province-administered county-level city (419001), no prefecture above
    ("41", "Kaifeng"): "开封市",
    ("41", "Luohe"): "漯河市",
    ("41", "Luoyang"): "洛阳市",
    ("41", "Nanyang"): "南阳市",
    ("41", "Pingdingshan"): "平顶山市",
    ("41", "Puyang"): "濮阳市",
    ("41", "Sanmenxia"): "三门峡市",
    ("41", "Shangqiu"): "商丘市",
    ("41", "Xinxiang"): "新乡市",
    ("41", "Xinyang"): "信阳市",
    ("41", "Xuchang"): "许昌市",
    ("41", "Zhengzhou"): "郑州市",
    ("41", "Zhoukou"): "周口市",
    ("41", "Zhumadian"): "驻马店市",
    # 42 湖北
    ("42", "Ezhou"): "鄂州市",
    ("42", "Huanggang"): "黄冈市",
    ("42", "Huangshi"): "黄石市",
    ("42", "Jingmen"): "荆门市",
    ("42", "Jingzhou"): "荆州市",
    ("42", "Qianjiang"): "潜江市",  # province-administered county-level city (429005)
    ("42", "Shiyan"): "十堰市",
    ("42", "Suizhou"): "随州市",
    ("42", "Wuhan"): "武汉市",
    ("42", "Xiangyang"): "襄阳市",
    ("42", "Xianning"): "咸宁市",
    ("42", "Xiantao"): "仙桃市",  # province-administered county-level city (429004)
    ("42", "Xiaogan"): "孝感市",
    ("42", "Yichang"): "宜昌市",
    # 43 湖南
    ("43", "Changde"): "常德市",
    ("43", "Changsha"): "长沙市",
    ("43", "Chenzhou"): "郴州市",
    ("43", "Hengyang"): "衡阳市",
    ("43", "Huaihua"): "怀化市",
    ("43", "Loudi"): "娄底市",
    ("43", "Shaoyang"): "邵阳市",
    ("43", "Xiangtan"): "湘潭市",
    ("43", "Yiyang"): "益阳市",
    ("43", "Yongzhou"): "永州市",
    ("43", "Yueyang"): "岳阳市",
    ("43", "Zhangjiajie"): "张家界市",
    ("43", "Zhuzhou"): "株洲市",
    # 44 广东
    ("44", "Chaozhou"): "潮州市",
    ("44", "Dongguan"): "东莞市",
    ("44", "Foshan"): "佛山市",
    ("44", "Guangzhou"): "广州市",
    ("44", "Heyuan"): "河源市",
    ("44", "Huizhou"): "惠州市",
    ("44", "Jiangmen"): "江门市",
    ("44", "Jieyang"): "揭阳市",
    ("44", "Maoming"): "茂名市",
    ("44", "Meizhou"): "梅州市",
    ("44", "Qingyuan"): "清远市",
    ("44", "Shantou"): "汕头市",
    ("44", "Shanwei"): "汕尾市",
    ("44", "Shaoguan"): "韶关市",
    ("44", "Shenzhen"): "深圳市",
    ("44", "Yangjiang"): "阳江市",
    ("44", "Yunfu"): "云浮市",
    ("44", "Zhanjiang"): "湛江市",
    ("44", "Zhaoqing"): "肇庆市",
    ("44", "Zhongshan"): "中山市",
    ("44", "Zhuhai"): "珠海市",
    # 45 广西
    ("45", "Baise"): "百色市",
    ("45", "Beihai"): "北海市",
    ("45", "Chongzuo"): "崇左市",
    ("45", "Fangchenggang"): "防城港市",
    ("45", "Guigang"): "贵港市",
    ("45", "Guilin"): "桂林市",
    ("45", "Hezhou"): "贺州市",
    ("45", "Laibin"): "来宾市",
    ("45", "Liuzhou"): "柳州市",
    ("45", "Nanning"): "南宁市",
    ("45", "Qinzhou"): "钦州市",
    ("45", "Wuzhou"): "梧州市",
    ("45", "Yulin"): "玉林市",  # not Shaanxi's 榆林市
    # 46 海南
    ("46", "Danzhou"): "儋州市",
    ("46", "Haikou"): "海口市",
    # 51 四川
    ("51", "Chengdu"): "成都市",
    ("51", "Dazhou"): "达州市",
    ("51", "Guang'an"): "广安市",
    ("51", "Guangyuan"): "广元市",
    ("51", "Leshan"): "乐山市",
    ("51", "Luzhou"): "泸州市",
    ("51", "Mianyang"): "绵阳市",
    ("51", "Nanchong"): "南充市",
    ("51", "Neijiang"): "内江市",
    ("51", "Panzhihua"): "攀枝花市",
    ("51", "Yibin"): "宜宾市",
    # 52 贵州
    ("52", "Anshun"): "安顺市",
    ("52", "Bijie"): "毕节市",
    ("52", "Guiyang"): "贵阳市",
    ("52", "Liupanshui"): "六盘水市",
    ("52", "Qiandongnan AP"): "黔东南苗族侗族自治州",
    ("52", "Qiannan AP"): "黔南布依族苗族自治州",
    ("52", "Qianxinan AP"): "黔西南布依族苗族自治州",
    ("52", "Tongren"): "铜仁市",
    ("52", "Zunyi"): "遵义市",
    # 53 云南
    ("53", "Honghe"): "红河哈尼族彝族自治州",
    ("53", "Kunming"): "昆明市",
    ("53", "Qujing"): "曲靖市",
    ("53", "Zhaotong"): "昭通市",
    # 54 西藏 (no GCPT units; the capital, for the blank-prefecture fallback)
    ("54", "Lhasa"): "拉萨市",
    # 61 陕西
    ("61", "Ankang"): "安康市",
    ("61", "Baoji"): "宝鸡市",
    ("61", "Hanzhong"): "汉中市",
    ("61", "Shangluo"): "商洛市",
    ("61", "Tongchuan"): "铜川市",
    ("61", "Weinan"): "渭南市",
    ("61", "Xi'an"): "西安市",
    ("61", "Xianyang"): "咸阳市",
    ("61", "Yan'an"): "延安市",
    ("61", "Yulin"): "榆林市",  # not Guangxi's 玉林市
    # 62 甘肃
    ("62", "Baiyin"): "白银市",
    ("62", "Jiayuguan"): "嘉峪关市",
    ("62", "Jinchang"): "金昌市",
    ("62", "Jiuquan"): "酒泉市",
    ("62", "Lanzhou"): "兰州市",
    ("62", "Pingliang"): "平凉市",
    ("62", "Qingyang"): "庆阳市",
    ("62", "Tianshui"): "天水市",
    ("62", "Wuwei"): "武威市",
    ("62", "Zhangye"): "张掖市",
    # 63 青海
    ("63", "Guoluo Tibetan AP"): "果洛藏族自治州",
    ("63", "Haibei"): "海北藏族自治州",
    ("63", "Haidong"): "海东市",
    ("63", "Haixi Mongol and Tibetan Autonomous Prefecture"): "海西蒙古族藏族自治州",
    ("63", "Xining"): "西宁市",
    # 64 宁夏
    ("64", "Guyuan"): "固原市",
    ("64", "Shizuishan"): "石嘴山市",
    ("64", "Wuzhong"): "吴忠市",
    ("64", "Yinchuan"): "银川市",
    # 65 新疆
    ("65", "Aksu"): "阿克苏地区",
    # "Altay/Ili": GEM's label for Altay prefecture, itself part of the Ili Kazakh AP; GB/T 2260 gives
    # 阿勒泰地区 its own prefecture-level code (654300). Its one operating plant (新疆农十师北屯热电厂)
    # lies in the XPCC city 北屯市 inside that prefecture.
    ("65", "Altay/Ili"): "阿勒泰地区",
    ("65", "Bayin'gholin"): "巴音郭楞蒙古自治州",
    ("65", "Börtala"): "博尔塔拉蒙古自治州",
    ("65", "Changji"): "昌吉回族自治州",
    ("65", "Hami"): "哈密市",
    ("65", "Hotan"): "和田地区",
    ("65", "Ili"): "伊犁哈萨克自治州",
    ("65", "Karamay"): "克拉玛依市",
    ("65", "Kashgar"): "喀什地区",
    ("65", "Kokdala"): "可克达拉市",  # XPCC city administered by the region (659008), no prefecture
    ("65", "Tacheng Prefecture"): "塔城地区",
    ("65", "Turpan"): "吐鲁番市",
    ("65", "Ürümqi"): "乌鲁木齐市",
}

#: (province code, GCPT spelling) → canonical English key of :data:`PREFECTURE_ZH`, with the reason.
ALIASES: dict[tuple[str, str], str] = {
    ("15", "Alxa League"): "Alxa",
    ("15", "Alashan"): "Alxa",  # pinyin of 阿拉善
    ("15", "Cifeng"): "Chifeng",  # typo in GCPT
    ("15", "Xilingol League"): "Xilingol",
    ("21", "Fuxi"): "Fuxin",  # typo in GCPT (国家电投阜新发电厂)
    ("22", "Dunhua"): "Yanbian",  # county-level city 敦化市 of 延边朝鲜族自治州
    ("22", "Fuyu"): "Songyuan",  # county-level city 扶余市 of 松原市 (陶赖昭), not Heilongjiang's 富裕县
    ("32", "Jiangyin"): "Wuxi",  # county-level city 江阴市 of 无锡市
    ("34", "Chaohu"): "Hefei",  # 巢湖: prefecture abolished 2011, now county-level city 巢湖市 of 合肥市
    ("37", "Laiwu"): "Jinan",  # 莱芜: prefecture abolished 2019, now 莱芜区/钢城区 of 济南市
    ("63", "Haixi Mongol and Tibetan AP"): "Haixi Mongol and Tibetan Autonomous Prefecture",
    ("64", "Guyuan City"): "Guyuan",
    ("65", "Bayingolin Mongol Autonomous Prefecture"): "Bayin'gholin",
    ("65", "Changji Hui Autonomous Prefecture"): "Changji",
    ("65", "Ili Prefecture"): "Ili",
    ("65", "Karamay City"): "Karamay",
    ("65", "Kashgar Prefecture"): "Kashgar",
    ("65", "Urumqi"): "Ürümqi",  # spelling of PROVINCE_CAPITAL
}

#: Places in ``Local area (taluk, county)`` / ``Location`` of rows with a blank prefecture → the
#: division they belong to (only places that are not themselves keys of :data:`PREFECTURE_ZH`).
COUNTY_ZH: dict[tuple[str, str], str] = {
    ("13", "Hengshui City"): "衡水市",
    ("46", "Dongfang"): "东方市",  # province-administered county-level city (469007)
    ("46", "Ledong"): "乐东黎族自治县",  # province-administered autonomous county (469027)
    ("65", "Aral"): "阿拉尔市",  # XPCC cities administered by the region (6590xx) ↓
    ("65", "Shihezi"): "石河子市",
    ("65", "Tumxuk"): "图木舒克市",
    ("65", "Wujiaqu"): "五家渠市",
}

#: Place names inside ``Plant name (local)`` → division, used when the prefecture and the county /
#: location columns are blank or unknown (province code → (substring, division) pairs).
LOCAL_NAME_HINTS: dict[str, tuple[tuple[str, str], ...]] = {
    "13": (("衡水", "衡水市"), ("桃城", "衡水市")),
    "61": (("彬长", "咸阳市"),),  # 彬州市 and 长武县, both of 咸阳市
    "64": (("青铜峡", "吴忠市"),),  # county-level city 青铜峡市 of 吴忠市
}

#: Names in these tables that are county-level divisions directly administered by the province or
#: region (no prefecture above them); the jurisdiction of a municipal inspector is the division itself.
DIRECT_COUNTY_LEVEL: frozenset[str] = frozenset(
    {"济源市", "潜江市", "仙桃市", "东方市", "乐东黎族自治县",
     "阿拉尔市", "可克达拉市", "石河子市", "图木舒克市", "五家渠市"}
)


def _capital_zh(province_code: str) -> str | None:
    from carbonqa.synth.params import PROVINCE_CAPITAL

    capital = PROVINCE_CAPITAL.get(province_code)
    return None if capital is None else _lookup(province_code, capital)


def _lookup(province_code: str, name_en: str) -> str | None:
    key = (province_code, name_en.strip())
    key = (province_code, ALIASES.get(key, key[1]))
    return PREFECTURE_ZH.get(key)


def prefecture_zh(province_code: str, name_en: str | None) -> str | None:
    """Official Chinese name (GB/T 2260 administrative division names) of a GCPT prefecture.

    Args:
        province_code: two-digit GB/T 2260 province code (``"15"``).
        name_en: ``Major area (prefecture, district)`` as spelled in GCPT (``"Baotou"``,
            ``"Changji Hui Autonomous Prefecture"``); ``None`` / blank = not given.

    Returns:
        The prefecture-level division with its suffix (``"包头市"``, ``"昌吉回族自治州"``,
        ``"锡林郭勒盟"``); for a blank name the provincial capital (for 北京/天津/上海/重庆 the
        municipality itself — a model choice, see :func:`city_zh` for the fuller per-plant rule);
        ``None`` if the name is not in the table (or the province code unknown).
    """
    if name_en is None or not name_en.strip():
        return _capital_zh(province_code)
    return _lookup(province_code, name_en)


def city_zh(
    province_code: str,
    major_area: str | None,
    local_area: str | None = None,
    location: str | None = None,
    plant_name_local: str | None = None,
) -> str | None:
    """Chinese city (地市) of one GCPT row, following the module's rule for blank prefectures.

    Args:
        province_code: two-digit GB/T 2260 province code.
        major_area: ``Major area (prefecture, district)``.
        local_area: ``Local area (taluk, county)``.
        location: ``Location``.
        plant_name_local: ``Plant name (local)``.

    Returns:
        :func:`prefecture_zh` of ``major_area`` when given (``None`` if unknown); else the division
        named by the county / location (:data:`PREFECTURE_ZH`, :data:`COUNTY_ZH`), else by a place in
        the local plant name (:data:`LOCAL_NAME_HINTS`), else the provincial capital.
    """
    if major_area is not None and major_area.strip():
        return _lookup(province_code, major_area)
    for place in (local_area, location):
        if place is None or not place.strip():
            continue
        hit = _lookup(province_code, place) or COUNTY_ZH.get((province_code, place.strip()))
        if hit is not None:
            return hit
    if plant_name_local:
        for needle, zh in LOCAL_NAME_HINTS.get(province_code, ()):
            if needle in plant_name_local:
                return zh
    return _capital_zh(province_code)
