#!/usr/bin/env python3
"""Language detection benchmark: tasks/language.py ProfileDetector against plain seeded langdetect.

Example:
    .venv/bin/python bench/language.py                 # about a minute
    .venv/bin/python bench/language.py --repeat 1 --synthetic 500

Evaluation set, built at run time from offline sources only (nothing is downloaded):
    seeds      the five English seed articles, ../shared/corpus/seeds/*.txt
    gold       the gold ``articleBody`` of the 181 real article pages of the HTML benchmark,
               ../shared/corpus/html-benchmark/ground-truth.json (mostly English; pt, ru, ko, it, id,
               de, ja); labelled below by seeded langdetect, as the pages carry no language field
    synthetic  articles of bench/make_corpus.py (generated in memory, seed 0, first --synthetic
               indices): every German/French/Spanish/Russian one (~3%) plus the first 40 English ones,
               rendered as scraped (header, body, footer)
    written    paragraphs written for this benchmark in 18 languages (nl pl sv da no tr cs uk el ar fa
               he hi zh-cn vi fi hu hr), ~10 news sentences each (city council, inflation, floods);
               3 articles per language of 2-4 KB (UTF-8), shuffled sentences in 2-3 sentence
               paragraphs, sentences cycling when the pool is shorter than the article
    mixed      (reported separately) two languages in one text, paragraph blocks of language A then
               B with A holding 50%, 70% or 90% of the characters: en+de en+fr en+es en+ru ru+uk
               da+no cs+pl nl+de es+fr
Short texts: the first 100 and 300 characters of the same seeds/gold/synthetic/written texts.

Reference: ``from langdetect import DetectorFactory, detect; DetectorFactory.seed = 0; detect(text)``
(LangDetectException -> None). Printed: agreement of ProfileDetector().detect(text).code with it, per
source and language; every disagreement with langdetect's answers under seeds 0-9 and our top-two
log-score margin; our score against langdetect's top probability; speed (articles/s) of langdetect,
detect and detect_many on the same texts, pinned to one CPU, best of --repeat passes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # single core: before numpy is imported

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

# --------------------------------------------------------------------------- written pools

WRITTEN = {
    "nl": [
        "De gemeenteraad van Utrecht heeft dinsdagavond ingestemd met een plan om het centrum autovrij te maken.",
        "Volgens de wethouder moet de maatregel de luchtkwaliteit verbeteren en de straten veiliger maken voor fietsers en voetgangers.",
        "Ondernemers in de binnenstad reageren verdeeld: sommigen vrezen dat klanten wegblijven, anderen verwachten juist meer bezoekers.",
        "De eerste fase gaat in het voorjaar van start en wordt na een jaar geëvalueerd.",
        "Bewoners kunnen tot eind volgende maand hun mening geven via een speciale website van de gemeente.",
        "In andere Nederlandse steden wordt met belangstelling naar het experiment gekeken.",
        "Het Centraal Bureau voor de Statistiek meldde woensdag dat de inflatie in oktober verder is gedaald.",
        "De prijzen van energie en voedingsmiddelen stegen minder snel dan een jaar eerder, maar huren werden opnieuw duurder.",
        "Economen waarschuwen dat huishoudens met een laag inkomen nog altijd moeite hebben om de eindjes aan elkaar te knopen.",
        "Het kabinet wil daarom de huurtoeslag volgend jaar verhogen, maar de oppositie vindt dat onvoldoende.",
        "Door de hevige regenval van het afgelopen weekend stonden in Limburg tientallen kelders onder water.",
        "De brandweer kreeg honderden meldingen en werkte de hele nacht door om het water weg te pompen.",
    ],
    "pl": [
        "Rada miasta Krakowa przyjęła we wtorek nowy plan zagospodarowania przestrzennego dla dzielnicy Podgórze.",
        "Zgodnie z projektem na terenach dawnych zakładów przemysłowych powstaną mieszkania, park oraz nowa szkoła podstawowa.",
        "Mieszkańcy od miesięcy domagali się więcej zieleni i lepszego połączenia tramwajowego z centrum.",
        "Prezydent miasta zapowiedział, że pierwsze prace budowlane rozpoczną się jeszcze w tym roku.",
        "Część radnych opozycji krytykuje jednak plan, twierdząc, że deweloperzy otrzymali zbyt duże ulgi.",
        "Według Głównego Urzędu Statystycznego inflacja w październiku spadła do najniższego poziomu od dwóch lat.",
        "Ceny żywności rosły wolniej niż w poprzednich miesiącach, ale usługi nadal drożeją.",
        "Ekonomiści spodziewają się, że Rada Polityki Pieniężnej pozostawi stopy procentowe bez zmian.",
        "Ulewne deszcze, które w weekend nawiedziły południe kraju, spowodowały lokalne podtopienia.",
        "Strażacy interweniowali ponad trzysta razy, głównie przy wypompowywaniu wody z piwnic i usuwaniu powalonych drzew.",
        "Synoptycy ostrzegają, że w najbliższych dniach opady mogą być równie intensywne.",
    ],
    "sv": [
        "Stockholms kommunfullmäktige beslutade på måndagen att bygga en ny spårvägslinje genom de södra förorterna.",
        "Enligt trafikborgarrådet ska linjen minska trängseln i kollektivtrafiken och ge fler invånare snabbare resor till arbetet.",
        "Bygget beräknas kosta drygt sex miljarder kronor och vara klart om sju år.",
        "Oppositionen anser att pengarna hellre borde läggas på att rusta upp befintliga tunnelbanestationer.",
        "Statistiska centralbyrån meddelade att arbetslösheten steg något under oktober, framför allt bland unga.",
        "Samtidigt ökade antalet lediga jobb inom vården och byggsektorn.",
        "Riksbanken väntas lämna styrräntan oförändrad vid sitt nästa penningpolitiska möte.",
        "Kraftiga regn orsakade översvämningar i flera kommuner längs västkusten under helgen.",
        "Räddningstjänsten fick hundratals larm om vattenfyllda källare och avstängda vägar.",
        "SMHI har utfärdat en gul varning för fortsatt mycket regn i Västra Götaland.",
        "Många hushåll är fortfarande utan ström efter stormen, och elbolagen räknar med att reparationerna tar flera dagar.",
    ],
    "da": [
        "Københavns Borgerrepræsentation vedtog torsdag en plan om at gøre flere gader i indre by bilfri.",
        "Ifølge teknik- og miljøborgmesteren skal planen give mere plads til cyklister, fodgængere og grønne områder.",
        "De første gader bliver lukket for biltrafik allerede til sommer, mens resten følger i løbet af de næste tre år.",
        "Erhvervslivet i byen er bekymret for, at kunderne i stedet vil vælge indkøbscentrene uden for centrum.",
        "Danmarks Statistik oplyste, at forbrugerpriserne steg mindre i oktober, end økonomerne havde ventet.",
        "Især faldende priser på el og brændstof trak inflationen ned, mens fødevarer stadig blev dyrere.",
        "Nationalbanken har ikke ændret renten siden sommeren og ventes at holde den uændret.",
        "Voldsomt regnvejr førte i weekenden til oversvømmelser i flere jyske byer.",
        "Beredskabet rykkede ud til mere end to hundrede opgaver, hvor kældre og veje var fyldt med vand.",
        "DMI forventer, at der kommer endnu mere nedbør i løbet af ugen, og opfordrer borgerne til at rense deres tagrender.",
    ],
    "no": [
        "Bystyret i Oslo vedtok onsdag en ny plan for å redusere biltrafikken i sentrum.",
        "Ifølge byrådet skal flere gater stenges for biler, og kollektivtrafikken skal få egne felt.",
        "Planen skal gjennomføres i løpet av de neste fire årene og koster om lag to milliarder kroner.",
        "Næringslivet i sentrum frykter at færre kunder vil komme, mens miljøorganisasjonene er fornøyde.",
        "Statistisk sentralbyrå meldte at prisveksten falt i oktober, særlig på grunn av lavere strømpriser.",
        "Matvareprisene økte likevel mer enn ventet, og mange husholdninger merker at budsjettet strammes inn.",
        "Norges Bank har signalisert at styringsrenten trolig holdes uendret ut året.",
        "Kraftig regn førte til flom og jordskred flere steder på Vestlandet i helgen.",
        "Flere veier ble stengt, og enkelte bygder var isolert i mange timer.",
        "Meteorologisk institutt har sendt ut farevarsel om mer nedbør de kommende dagene, og NVE følger situasjonen nøye.",
    ],
    "tr": [
        "İstanbul Büyükşehir Belediye Meclisi salı günü kentin kuzeyinde yeni bir metro hattının yapımını onayladı.",
        "Belediye başkanına göre hat, günde yaklaşık yarım milyon yolcuya hizmet verecek ve trafik sıkışıklığını azaltacak.",
        "Projenin maliyeti on milyar liranın üzerinde olacak ve inşaatın dört yıl içinde tamamlanması bekleniyor.",
        "Muhalefet üyeleri ise projenin finansmanı konusunda yeterli bilgi verilmediğini savundu.",
        "Türkiye İstatistik Kurumu, ekim ayında yıllık enflasyonun beklentilerin altında kaldığını açıkladı.",
        "Gıda fiyatlarındaki artış yavaşlarken kira ve hizmet fiyatları yükselmeye devam etti.",
        "Ekonomistler, Merkez Bankasının faiz oranlarını bir süre daha sabit tutacağını tahmin ediyor.",
        "Karadeniz bölgesinde hafta sonu etkili olan şiddetli yağışlar sele ve heyelanlara neden oldu.",
        "Yetkililer, bazı köy yollarının ulaşıma kapandığını ve ekiplerin çalışmalarını sürdürdüğünü bildirdi.",
        "Meteoroloji, yağışların önümüzdeki günlerde de aralıklarla devam edeceği uyarısında bulundu.",
    ],
    "cs": [
        "Pražské zastupitelstvo ve čtvrtek schválilo plán na výstavbu nové tramvajové trati na Barrandov.",
        "Podle náměstka primátora trať výrazně zkrátí cestu do centra a uleví přetíženým autobusovým linkám.",
        "Stavba by měla začít příští rok a potrvá přibližně tři roky.",
        "Opoziční zastupitelé kritizují, že město zatím nezajistilo dostatečné financování celého projektu.",
        "Český statistický úřad oznámil, že meziroční inflace v říjnu opět mírně klesla.",
        "Ceny potravin rostly pomaleji než v předchozích měsících, naopak nájmy a služby dále zdražují.",
        "Ekonomové očekávají, že Česká národní banka ponechá úrokové sazby beze změny.",
        "Silné deště o víkendu způsobily rozvodnění řek na severu Moravy.",
        "Hasiči zasahovali u desítek zatopených sklepů a na několika místech museli evakuovat obyvatele.",
        "Meteorologové varují, že během týdne mohou přijít další vydatné srážky.",
    ],
    "uk": [
        "Київська міська рада у вівторок ухвалила програму відновлення шкіл і лікарень, пошкоджених під час обстрілів.",
        "За словами міського голови, на ці роботи цього року планують спрямувати понад два мільярди гривень.",
        "Першочергово ремонтуватимуть укриття, дахи та системи опалення, щоб підготуватися до зими.",
        "Депутати також погодили виділення коштів на закупівлю генераторів для комунальних підприємств.",
        "Державна служба статистики повідомила, що інфляція в жовтні сповільнилася вже третій місяць поспіль.",
        "Найбільше подешевшали овочі та пальне, тоді як ціни на послуги продовжують зростати.",
        "Економісти очікують, що Національний банк збереже облікову ставку на незмінному рівні.",
        "Через сильні дощі у західних областях піднявся рівень води в річках.",
        "Рятувальники відкачували воду з підвалів і допомагали мешканцям підтоплених будинків.",
        "Синоптики попереджають, що найближчими днями опади триватимуть, а в горах можливі паводки.",
    ],
    "el": [
        "Το δημοτικό συμβούλιο της Αθήνας ενέκρινε την Τρίτη σχέδιο για την ανάπλαση του ιστορικού κέντρου.",
        "Σύμφωνα με τον δήμαρχο, θα δημιουργηθούν νέοι πεζόδρομοι, ποδηλατόδρομοι και χώροι πρασίνου.",
        "Οι εργασίες αναμένεται να ξεκινήσουν την άνοιξη και να ολοκληρωθούν μέσα σε τρία χρόνια.",
        "Οι επαγγελματίες της περιοχής εκφράζουν ανησυχία για τις επιπτώσεις στην κίνηση των καταστημάτων.",
        "Η Ελληνική Στατιστική Αρχή ανακοίνωσε ότι ο πληθωρισμός υποχώρησε τον Οκτώβριο.",
        "Οι τιμές των τροφίμων αυξήθηκαν με πιο αργό ρυθμό, ενώ τα ενοίκια συνέχισαν να ανεβαίνουν.",
        "Οι οικονομολόγοι εκτιμούν ότι η κυβέρνηση θα ανακοινώσει νέα μέτρα στήριξης για τα νοικοκυριά.",
        "Έντονες βροχοπτώσεις προκάλεσαν πλημμύρες σε περιοχές της Θεσσαλίας το Σαββατοκύριακο.",
        "Η πυροσβεστική υπηρεσία δέχθηκε εκατοντάδες κλήσεις για άντληση υδάτων από σπίτια και καταστήματα.",
        "Η Εθνική Μετεωρολογική Υπηρεσία προειδοποιεί ότι η κακοκαιρία θα συνεχιστεί τις επόμενες ημέρες.",
    ],
    "ar": [
        "وافق المجلس البلدي في مدينة عمان يوم الثلاثاء على خطة جديدة لتطوير شبكة النقل العام.",
        "وقال رئيس البلدية إن الخطة تشمل إنشاء خطوط حافلات سريعة وتوسيع الأرصفة للمشاة.",
        "ومن المتوقع أن تبدأ أعمال التنفيذ في الربيع المقبل وأن تستمر نحو ثلاث سنوات.",
        "وأعرب عدد من التجار عن قلقهم من تأثير الأعمال على حركة البيع في وسط المدينة.",
        "وأعلنت دائرة الإحصاءات العامة أن معدل التضخم تراجع خلال شهر أكتوبر للمرة الثالثة على التوالي.",
        "وارتفعت أسعار المواد الغذائية بوتيرة أبطأ، في حين واصلت الإيجارات ارتفاعها.",
        "ويتوقع خبراء الاقتصاد أن يبقي البنك المركزي أسعار الفائدة دون تغيير في اجتماعه المقبل.",
        "وتسببت الأمطار الغزيرة التي هطلت خلال عطلة نهاية الأسبوع في فيضانات في عدد من المناطق.",
        "وتلقت فرق الدفاع المدني مئات البلاغات لسحب المياه من المنازل والمحال التجارية.",
        "وحذرت دائرة الأرصاد الجوية من استمرار الأحوال الجوية غير المستقرة خلال الأيام المقبلة.",
    ],
    "fa": [
        "شورای شهر تهران روز سه‌شنبه طرح جدیدی را برای توسعه خطوط مترو تصویب کرد.",
        "به گفته شهردار، این طرح شامل ساخت دو خط تازه و نوسازی ایستگاه‌های قدیمی است.",
        "انتظار می‌رود عملیات اجرایی از بهار آینده آغاز شود و حدود چهار سال طول بکشد.",
        "برخی از اعضای شورا درباره تأمین بودجه این طرح ابراز نگرانی کردند.",
        "مرکز آمار اعلام کرد که نرخ تورم در ماه گذشته اندکی کاهش یافته است.",
        "قیمت مواد غذایی با سرعت کمتری افزایش یافت، اما اجاره‌بها همچنان رو به افزایش است.",
        "کارشناسان اقتصادی پیش‌بینی می‌کنند که بانک مرکزی سیاست‌های فعلی خود را ادامه دهد.",
        "بارش شدید باران در پایان هفته در چند استان شمالی کشور باعث وقوع سیل شد.",
        "نیروهای امدادی به صدها درخواست کمک برای تخلیه آب از خانه‌ها و مغازه‌ها پاسخ دادند.",
        "سازمان هواشناسی هشدار داد که بارندگی در روزهای آینده نیز ادامه خواهد داشت.",
    ],
    "he": [
        "מועצת העיר תל אביב אישרה ביום שלישי תוכנית חדשה להרחבת שבילי האופניים בעיר.",
        "לדברי ראש העירייה, התוכנית נועדה להפחית את עומסי התנועה ולשפר את איכות האוויר.",
        "העבודות צפויות להתחיל באביב הבא ולהימשך כשלוש שנים.",
        "בעלי עסקים במרכז העיר הביעו חשש מפגיעה בהכנסות בזמן העבודות.",
        "הלשכה המרכזית לסטטיסטיקה פרסמה כי מדד המחירים לצרכן ירד בחודש אוקטובר.",
        "מחירי המזון עלו בקצב איטי יותר, אך שכר הדירה המשיך לעלות.",
        "כלכלנים מעריכים כי בנק ישראל ישאיר את הריבית ללא שינוי בהחלטה הקרובה.",
        "גשמים עזים שירדו בסוף השבוע גרמו להצפות בכמה ערים בצפון הארץ.",
        "כוחות ההצלה קיבלו מאות קריאות לשאיבת מים מבתים ומחניונים.",
        "השירות המטאורולוגי מזהיר כי מזג האוויר הסוער יימשך גם בימים הקרובים.",
    ],
    "hi": [
        "दिल्ली नगर निगम ने मंगलवार को शहर में नए पार्क और खेल के मैदान बनाने की योजना को मंज़ूरी दी।",
        "महापौर के अनुसार इस योजना से बच्चों और बुज़ुर्गों को खुली जगह मिलेगी और प्रदूषण कम करने में मदद मिलेगी।",
        "काम अगले साल की शुरुआत में शुरू होगा और लगभग दो साल में पूरा होने की उम्मीद है।",
        "विपक्षी पार्षदों ने कहा कि योजना के लिए धन की व्यवस्था के बारे में स्पष्ट जानकारी नहीं दी गई है।",
        "राष्ट्रीय सांख्यिकी कार्यालय ने बताया कि अक्टूबर में खुदरा महंगाई दर में गिरावट आई है।",
        "सब्ज़ियों और दालों की कीमतें कम हुईं, लेकिन किराया और सेवाएँ महंगी होती रहीं।",
        "अर्थशास्त्रियों का मानना है कि रिज़र्व बैंक अगली बैठक में ब्याज दरों में कोई बदलाव नहीं करेगा।",
        "सप्ताहांत में हुई भारी बारिश से कई निचले इलाकों में पानी भर गया।",
        "राहत दलों ने सैकड़ों घरों से पानी निकाला और कुछ परिवारों को सुरक्षित स्थानों पर पहुँचाया।",
        "मौसम विभाग ने अगले कुछ दिनों तक और बारिश होने की चेतावनी जारी की है।",
    ],
    "zh-cn": [
        "北京市人民代表大会常务委员会星期二通过了一项关于改善城市公共交通的新计划。",
        "根据该计划，未来三年内将新建两条地铁线路，并增加公交专用道的数量。",
        "市政府表示，这些措施将缓解交通拥堵，减少空气污染，方便市民出行。",
        "一些代表指出，项目资金的来源仍需进一步明确。",
        "国家统计局周三公布的数据显示，十月份居民消费价格指数同比涨幅有所回落。",
        "食品价格上涨速度放缓，但房租和服务价格继续上升。",
        "经济学家预计，中国人民银行近期将保持利率不变。",
        "上周末的强降雨导致南方多个城市出现内涝，部分道路交通一度中断。",
        "消防和救援人员连夜排水，并帮助被困居民转移到安全地点。",
        "气象部门提醒，未来几天仍将有较强降雨，请市民注意防范。",
    ],
    "vi": [
        "Hội đồng nhân dân thành phố Hà Nội hôm thứ Ba đã thông qua kế hoạch mở rộng hệ thống xe buýt điện.",
        "Theo chủ tịch thành phố, kế hoạch này nhằm giảm ùn tắc giao thông và cải thiện chất lượng không khí.",
        "Dự án dự kiến bắt đầu vào mùa xuân năm sau và kéo dài khoảng ba năm.",
        "Một số đại biểu bày tỏ lo ngại về nguồn vốn để thực hiện dự án.",
        "Tổng cục Thống kê cho biết chỉ số giá tiêu dùng trong tháng Mười đã giảm nhẹ so với tháng trước.",
        "Giá thực phẩm tăng chậm hơn, nhưng giá thuê nhà và dịch vụ vẫn tiếp tục tăng.",
        "Các chuyên gia kinh tế dự báo Ngân hàng Nhà nước sẽ giữ nguyên lãi suất trong thời gian tới.",
        "Mưa lớn kéo dài vào cuối tuần qua đã gây ngập lụt ở nhiều tỉnh miền Trung.",
        "Lực lượng cứu hộ đã sơ tán hàng trăm hộ dân đến nơi an toàn.",
        "Cơ quan khí tượng cảnh báo mưa lớn có thể tiếp tục trong những ngày tới.",
    ],
    "fi": [
        "Helsingin kaupunginvaltuusto hyväksyi tiistaina suunnitelman uuden raitiotien rakentamisesta itäisiin kaupunginosiin.",
        "Pormestarin mukaan raitiotie lyhentää matka-aikoja ja vähentää ruuhkia keskustan suunnassa.",
        "Rakennustyöt on tarkoitus aloittaa ensi keväänä, ja linjan arvioidaan valmistuvan neljässä vuodessa.",
        "Osa valtuutetuista arvosteli hanketta sen korkeista kustannuksista.",
        "Tilastokeskuksen mukaan inflaatio hidastui lokakuussa jo kolmatta kuukautta peräkkäin.",
        "Ruoan hinnat nousivat aiempaa hitaammin, mutta vuokrat ja palvelut kallistuivat edelleen.",
        "Ekonomistit arvioivat, että Euroopan keskuspankki pitää korot ennallaan.",
        "Rankkasateet aiheuttivat viikonloppuna tulvia useissa kunnissa Länsi-Suomessa.",
        "Pelastuslaitos sai satoja hälytyksiä, ja monista kellareista jouduttiin pumppaamaan vettä.",
        "Ilmatieteen laitos varoittaa, että sateet jatkuvat runsaina vielä lähipäivinä.",
    ],
    "hu": [
        "A fővárosi közgyűlés kedden elfogadta a belvárosi forgalomcsillapítási tervet.",
        "A főpolgármester szerint az intézkedés javítja a levegő minőségét, és biztonságosabbá teszi a közlekedést.",
        "Az átalakítás első szakasza tavasszal kezdődik, és két évig tart.",
        "Az ellenzéki képviselők szerint a tervhez nem rendeltek elegendő forrást.",
        "A Központi Statisztikai Hivatal közölte, hogy októberben tovább lassult az infláció.",
        "Az élelmiszerek ára kisebb mértékben emelkedett, a lakbérek és a szolgáltatások azonban tovább drágultak.",
        "Az elemzők arra számítanak, hogy a jegybank változatlanul hagyja az alapkamatot.",
        "A hétvégi heves esőzések miatt több településen elöntötte a víz a pincéket és az utakat.",
        "A tűzoltók több száz helyszínen dolgoztak, hogy kiszivattyúzzák a vizet.",
        "A meteorológiai szolgálat a következő napokra is figyelmeztetést adott ki.",
    ],
    "hr": [
        "Gradska skupština Zagreba u utorak je usvojila plan izgradnje nove tramvajske pruge prema jugu grada.",
        "Prema riječima gradonačelnika, nova pruga skratit će putovanje do centra i smanjiti gužve na cestama.",
        "Radovi bi trebali započeti sljedećeg proljeća i trajati oko tri godine.",
        "Oporbeni vijećnici upozoravaju da financiranje projekta još nije osigurano.",
        "Državni zavod za statistiku objavio je da je inflacija u listopadu ponovno usporila.",
        "Cijene hrane rasle su sporije nego prethodnih mjeseci, ali najamnine i usluge i dalje poskupljuju.",
        "Ekonomisti očekuju da će Europska središnja banka zadržati kamatne stope nepromijenjenima.",
        "Obilne kiše tijekom vikenda izazvale su poplave u nekoliko mjesta u Slavoniji.",
        "Vatrogasci su intervenirali na stotinama lokacija, uglavnom zbog poplavljenih podruma.",
        "Meteorolozi upozoravaju da se u idućim danima očekuje još kiše.",
    ],
}
MIXED_PAIRS = [("en", "de"), ("en", "fr"), ("en", "es"), ("en", "ru"), ("ru", "uk"), ("da", "no"), ("cs", "pl"),
               ("nl", "de"), ("es", "fr")]
MIXED_SHARES = (0.5, 0.7, 0.9)


@dataclass(frozen=True)
class Doc:
    source: str  # seeds, gold, synthetic, written, mixed
    name: str
    text: str
    lang: str | None = None  # the language it was written in, when known


def compose(sentences: list[str], rng: random.Random, target_bytes: int, joiner: str = " ") -> list[str]:
    """Paragraphs of 2-3 shuffled sentences until the text reaches target_bytes (UTF-8)."""
    paragraphs: list[str] = []
    size, pool = 0, []
    while size < target_bytes:
        if len(pool) < 3:
            pool += rng.sample(sentences, len(sentences))
        take = rng.choice((2, 2, 3))
        paragraph = joiner.join(pool[:take])
        pool = pool[take:]
        paragraphs.append(paragraph)
        size += len(paragraph.encode()) + 2
    return paragraphs


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20]


def build_set(synthetic_n: int) -> tuple[list[Doc], list[Doc]]:
    """The main evaluation set and the mixed-language set."""
    docs: list[Doc] = []
    seeds = sorted((SHARED / "seeds").glob("*.txt"))
    for path in seeds:
        docs.append(Doc("seeds", path.name, path.read_text(encoding="utf-8"), "en"))

    gold = json.loads((SHARED / "html-benchmark" / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(gold):
        docs.append(Doc("gold", key[:12], gold[key]["articleBody"]))

    import make_corpus as mc

    foreign_pools: dict[str, list[str]] = {}
    if synthetic_n:
        gen = mc.CorpusGenerator(0, mc.load_seed_pool(mc.DEFAULT_SEEDS), [mc.Run(0, synthetic_n, 0.0, ("txt",))])
        english = 0
        for i in range(synthetic_n):
            article = gen.original(i)
            if article.lang == "en":
                if english >= 40:
                    continue
                english += 1
            docs.append(Doc("synthetic", f"#{i}", mc.render_text(article, gen.outlets[article.outlet]), article.lang))
    for lang, templates in mc.FOREIGN.items():
        foreign_pools[lang] = [re.sub(r"\{[A-Z0-9]+\}", "Novak", t) for t in templates]

    for lang, sentences in WRITTEN.items():
        joiner = "" if lang.startswith("zh") else " "
        for i in range(3):
            rng = random.Random(f"written-{lang}-{i}")
            text = "\n\n".join(compose(sentences, rng, rng.randint(2000, 4000), joiner))
            docs.append(Doc("written", f"{lang}-{i}", text, lang))

    pools = dict(WRITTEN)
    pools.update(foreign_pools)
    pools["en"] = [s for path in seeds for s in split_sentences(path.read_text(encoding="utf-8"))]
    mixed: list[Doc] = []
    for a, b in MIXED_PAIRS:
        for share in MIXED_SHARES:
            rng = random.Random(f"mixed-{a}-{b}-{share}")
            total = rng.randint(2500, 3500)
            part_a = compose(pools[a], rng, int(total * share))
            part_b = compose(pools[b], rng, int(total * (1 - share)))
            # Only a 70/90% mix has a language it is "written in"; a 50/50 mix has none.
            mixed.append(Doc("mixed", f"{a}{int(share * 100)}+{b}", "\n\n".join(part_a + part_b),
                             a if share > 0.5 else None))
    return docs, mixed


# --------------------------------------------------------------------------- reference


def langdetect_answer(text: str, seed: int = 0):
    """Plain seeded langdetect: (code, top probability), (None, None) when it finds no features."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = seed
    try:
        best = detect_langs(text)
    except LangDetectException:
        return None, None
    return (best[0].lang, best[0].prob) if best else (None, None)


def langdetect_prob(text: str, code: str, seed: int) -> float:
    """langdetect's probability for one language under one seed (0 when it does not list it)."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = seed
    try:
        return next((l.prob for l in detect_langs(text) if l.lang == code), 0.0)
    except LangDetectException:
        return 0.0


def langdetect_code(text: str):
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return None


def margin(detector, text: str) -> str:
    """Our top-two languages and their log-score gap per n-gram occurrence."""
    from tasks.language import _code_points, _model, _ngram_counts

    scores = detector.log_scores(text)
    _, _, counts = _ngram_counts(_model(), [_code_points(text, detector.max_chars)])
    (l1, s1), (l2, s2) = sorted(scores.items(), key=lambda kv: -kv[1])[:2]
    n = max(int(counts.sum()), 1)
    return f"{l1}-{l2} {(s1 - s2) / n:.3f}/ngram ({n} ngrams)"


# --------------------------------------------------------------------------- report


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100.0 * a / b:.1f}%)" if b else "0/0"


def agreement(name: str, docs: list[Doc], texts: list[str], detector, show: int, seeds: int) -> dict:
    ref = [langdetect_answer(t) for t in texts]
    ours = detector.detect_many(texts)
    agree = [r[0] == o.code for r, o in zip(ref, ours)]
    print(f"\n{name}: agreement with seeded langdetect {pct(sum(agree), len(agree))}")
    by_source: dict[str, list[bool]] = defaultdict(list)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for d, r, a in zip(docs, ref, agree):
        by_source[d.source].append(a)
        by_lang[d.lang or r[0] or "none"].append(a)
    print("  by source:  " + ", ".join(f"{s} {pct(sum(v), len(v))}" for s, v in by_source.items()))
    print("  by language: " + ", ".join(f"{l} {sum(v)}/{len(v)}" for l, v in sorted(by_lang.items())))
    known = [(d, r, o) for d, r, o in zip(docs, ref, ours) if d.lang]
    if known:
        print(f"  vs the language the text was written in ({len(known)} texts): langdetect "
              f"{pct(sum(r[0] == d.lang for d, r, _ in known), len(known))}, ours "
              f"{pct(sum(o.code == d.lang for d, _, o in known), len(known))}")
    both = [(r, o) for r, o in zip(ref, ours) if r[1] is not None and o.score is not None]
    diffs = [abs(r[1] - o.score) for r, o in both]
    rel = sum((r[1] >= 0.8) == (o.score >= 0.8) for r, o in both)
    if both:
        print(f"  score vs langdetect top probability: mean |diff| {statistics.mean(diffs):.4f}, "
              f"median {statistics.median(diffs):.4f}; score >= 0.80 decided alike {pct(rel, len(both))}")
        far = [(t, r, o) for t, r, o in zip(texts, ref, ours)
               if r[1] is not None and o.score is not None and abs(r[1] - o.score) > 0.05]
        if far:
            # langdetect's probability is the share of 7 random trials won: compare with its average.
            avg = [statistics.mean(langdetect_prob(t, o.code, s) for s in range(seeds)) for t, _, o in far]
            print(f"  the {len(far)} texts with |diff| > 0.05: mean |score - seed-0 prob| "
                  f"{statistics.mean(abs(r[1] - o.score) for _, r, o in far):.3f}, mean |score - langdetect's "
                  f"prob for our language averaged over seeds 0-{seeds - 1}| "
                  f"{statistics.mean(abs(a - o.score) for a, (_, _, o) in zip(avg, far)):.3f}")
    wrong = [(d, t, r, o) for d, t, r, o, a in zip(docs, texts, ref, ours, agree) if not a]
    if wrong:
        print(f"  disagreements ({len(wrong)}; {min(len(wrong), show)} shown): source/name len | langdetect "
              f"seed 0 (prob) | ours (score) | langdetect over seeds 0-{seeds - 1} | our top-two margin | text")
    for d, t, r, o in wrong[:show]:
        votes = Counter(langdetect_answer(t, s)[0] for s in range(seeds))
        vote_str = " ".join(f"{k}:{v}" for k, v in votes.most_common())
        prob = f"{r[1]:.3f}" if r[1] is not None else "-"
        print(f"    {d.source}/{d.name} {len(t)} | {r[0]} ({prob}) | {o.code} ({o.score}) | {vote_str} | "
              f"{margin(detector, t)} | {t[:70]!r}")
    return {"agree": sum(agree), "n": len(agree)}


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=int, default=2000, help="make_corpus indices to scan (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes, best taken (default 3)")
    parser.add_argument("--show", type=int, default=25, help="disagreements listed per table (default 25)")
    parser.add_argument("--seeds", type=int, default=10, help="langdetect seeds tried on disagreements")
    parser.add_argument("--all-cpus", action="store_true", help="do not pin the process to one CPU")
    args = parser.parse_args(argv)

    if not args.all_cpus and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}; numpy/BLAS threads 1")

    from importlib.metadata import version

    from tasks.language import ProfileDetector, _model

    start = time.perf_counter()
    _model()
    load = time.perf_counter() - start
    start = time.perf_counter()
    langdetect_code("warm up: load the profiles")
    ld_load = time.perf_counter() - start
    detector = ProfileDetector()

    docs, mixed = build_set(args.synthetic)
    texts = [d.text for d in docs]
    sizes = [len(t.encode()) for t in texts]
    langs = Counter(d.lang or langdetect_code(d.text) for d in docs)
    print(f"evaluation set: {len(docs)} texts, " + ", ".join(f"{s} {n}" for s, n in Counter(d.source for d in docs).items()))
    print(f"  UTF-8 size: median {statistics.median(sizes):.0f} B, min {min(sizes)}, max {max(sizes)}; "
          f"{sum(2000 <= s <= 4000 for s in sizes)} within 2-4 KB (langdetect and ours read the first 10000 chars)")
    print(f"  {len(langs)} languages (written/synthetic label, else seeded langdetect): "
          + ", ".join(f"{l} {n}" for l, n in langs.most_common()))
    print(f"  mixed set: {len(mixed)} texts, pairs {' '.join(a + '+' + b for a, b in MIXED_PAIRS)} at "
          f"{'/'.join(str(int(s * 100)) for s in MIXED_SHARES)}% first language")
    print(f"langdetect {version('langdetect')}, numpy {version('numpy')}; profiles: "
          f"{len(_model().langs)} languages; first use: ours {load:.2f} s, langdetect {ld_load:.2f} s")

    print("\n== agreement ==")
    results = {"full": agreement("full texts", docs, texts, detector, args.show, args.seeds)}
    for cut in (300, 100):
        results[cut] = agreement(f"first {cut} characters", docs, [t[:cut] for t in texts], detector,
                                 args.show, args.seeds)
    results["mixed"] = agreement("mixed-language texts", mixed, [d.text for d in mixed], detector, args.show,
                                 args.seeds)

    print("\n== determinism ==")
    single = [detector.detect(t) for t in texts]
    print(f"  detect() == detect_many(): {single == detector.detect_many(texts)}; "
          f"two instances: {single == [ProfileDetector().detect(t) for t in texts]}; "
          f"reversed batch: {single == detector.detect_many(texts[::-1])[::-1]}")

    print("\n== speed (one CPU, best of %d passes, same texts) ==" % args.repeat)
    rows = []
    for label, sample in (("full texts", texts), ("first 300 chars", [t[:300] for t in texts]),
                          ("first 100 chars", [t[:100] for t in texts])):
        t_ld = timed(lambda: [langdetect_code(t) for t in sample], args.repeat)
        t_one = timed(lambda: [detector.detect(t) for t in sample], args.repeat)
        t_many = timed(lambda: detector.detect_many(sample), args.repeat)
        n = len(sample)
        rows.append((label, n, n / t_ld, n / t_one, n / t_many))
    print(f"  {'':16} {'texts':>6} {'langdetect/s':>13} {'detect/s':>10} {'detect_many/s':>14} "
          f"{'x detect':>9} {'x many':>7}")
    for label, n, ld, one, many in rows:
        print(f"  {label:16} {n:6d} {ld:13.0f} {one:10.0f} {many:14.0f} {one / ld:9.1f} {many / ld:7.1f}")
    full = rows[0]
    print(f"  per full text: langdetect {1e3 / full[2]:.2f} ms, detect {1e3 / full[3]:.3f} ms, "
          f"detect_many {1e3 / full[4]:.3f} ms (mean {statistics.mean(sizes):.0f} B)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
