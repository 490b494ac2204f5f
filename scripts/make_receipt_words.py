"""Make the receipt-code word lists: haven/replies/words/{en,ru,uk}.txt.

Run from the repository root in a throwaway environment holding exactly the
pinned sources below (they are not Haven dependencies; the lists are committed):

    python3 -m venv /tmp/words && /tmp/words/bin/pip install \
        wordfreq==3.1.1 pymorphy3==2.0.6 pymorphy3-dicts-ru==2.4.417150.4580142 \
        pymorphy3-dicts-uk==2.4.1.1.1663094765 mnemonic==0.21 \
        xkcdpass==1.30.0
    /tmp/words/bin/python scripts/make_receipt_words.py

The rules are written down in docs/replies-v1.md section 1.2, and
tests/haven/replies/test_words.py checks the committed lists against them.
Every choice here is a filter in code, so a reviewer can rerun it and get the
same bytes (the script refuses other versions of its sources).

A requester reads these words off a screen, may say them aloud or write
them on paper, and types them on a phone months later, possibly at a border
with the phone in someone else's hands. So a word must be:
- common and short (4 to 8 letters): easy to read, say and type;
- a noun in its dictionary form (Russian and Ukrainian), not a name, brand,
  abbreviation, slang or obscenity;
- harmless if found: nothing about war, weapons, the military, police,
  courts, prisons, papers and borders, leaving a country, politics, death,
  illness, drugs, religion, peoples or places, which a code written on paper
  must not suggest (struck by topic in BLOCKED_STEMS, TOPIC_STEMS and
  TOPIC_WORDS, for Russian and Ukrainian together: see _blocked);
- distinct: its first four letters name it alone (so no word is a prefix of
  another and autocompletion needs at most four letters), and no other word
  is one typing slip away (one letter changed, added, dropped, or two
  neighbours swapped), which also removes near-homophones like код/кот.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

LIST_SIZE = 2048
MIN_LEN, MAX_LEN = 4, 8
PREFIX = 4
# How far down wordfreq's frequency list (ru, uk) candidates are taken from.
# The strike-outs leave Ukrainian short of 2048 within the first 100,000;
# the lists take the most frequent words that pass, so going deeper only
# reaches where needed.
CANDIDATES = 150_000
OUT = Path(__file__).resolve().parent.parent / "haven" / "replies" / "words"

PINNED = {
    "wordfreq": "3.1.1",
    "pymorphy3": "2.0.6",
    "pymorphy3-dicts-ru": "2.4.417150.4580142",
    "pymorphy3-dicts-uk": "2.4.1.1.1663094765",
    "mnemonic": "0.21",
    "xkcdpass": "1.30.0",
}

# Letters a word may use. Russian: no ё (typed as е by most people, and the
# parser folds it), no ъ (rare, and confused with ь on phone keyboards).
# Ukrainian: no ґ (often typed as г) and no apostrophe (several look-alike
# characters, and phone keyboards hide it).
ALPHABETS = {
    "en": frozenset("abcdefghijklmnopqrstuvwxyz"),
    "ru": frozenset("абвгдежзийклмнопрстуфхцчшщыьэюя"),
    "uk": frozenset("абвгдеєжзиіїйклмнопрстуфхцчшщьюя"),
}

# OpenCorpora grammemes of words that are no good in a code: names,
# surnames, patronymics, places, organisations, trademarks, abbreviations,
# informal, slang, archaic, literary, misspelt or dialect forms.
BAD_GRAMMEMES = frozenset(
    "Name Surn Patr Geox Orgn Trad Abbr Infr Slng Arch Litr Erro Dist Init".split()
)

# Topics a code found on paper or on a phone must not suggest. A word is
# dropped if it starts with one of these stems.
BLOCKED_STEMS = {
    "ru": """
        войн воен вооруж арми солдат оруж бомб ракет танк пул снаряд взрыв выстрел
        стрел пистол автомат граната мина штык смерт убий убит убийц труп кров казн
        пытк тюрьм тюрем камер зона суд судь прокур адвокат полиц милиц арест розыск
        преступ бандит вор краж террор фашист нацист фюрер путин кремл президент
        власт парти выбор протест митинг революц бунт мятеж дезерт мобилиз призыв
        повестк фронт генерал капитан офицер сержант майор полков батальон рота взвод
        штаб шпион развед агент паспорт виза границ беженц наркот героин кокаин секс
        порн проститут суицид самоубий резн расизм насил жертв рвот жоп хуй пизд бляд
        еба дерьм сук гей лесби негр жид хохол москал чечен еврей украин росси русск
        америк немец нем министр депутат санкц оккупац плен заложн враг атак удар бой
        боец бойц конфликт операц флот авиац самолет вертолет дрон батар пушк
        чекист фсб кгб донос следов допрос обыск конфиск прав закон ислам христ церк
        религ бог дьявол черт ад рай мусульм стерв твар гетто колхоз британ барби дур
        грех гроб губерн калибр конвой бункер вампир бардак кладбищ покойн мертв
        свидетел подозр иск приговор хунт генштаб обстрел нардеп курв срач сран говн
        пьян водк алкогол сигарет табак кур ксенофоб педик лох член мигрант эмигр
        таможн допинг насмерт мент зэк урк боевик войск арсенал трибунал банд мошен
        инфаркт опухол рак тойот боинг диас стоун гага сьерр библи морд пив кайф косяк
        наркоз ракш пират маф бандер петух петушок опущен параш бомж шлюх
    """.split(),
    "uk": """
        війн воєн воєнн військ озбро армі солдат зброя зброї бомб ракет танк кул снаряд
        вибух постріл стріл пістолет автомат граната мін багнет смерт вбив вбит вбивц
        труп кров страт катув тюрм тюрем камер зона суд судд прокур адвокат поліц
        міліц арешт розшук злочин бандит злодій крадіж терор фашист нацист фюрер путін
        кремл президент влад парті вибор протест мітинг революц бунт заколот дезерт
        мобіліз призов повістк фронт генерал капітан офіцер сержант майор полков
        батальйон рота взвод штаб шпигун розвід агент паспорт віза кордон біженц
        наркот героїн кокаїн секс порн повія суїцид самогуб різанин расизм насильс
        жертв блюв дуп хуй пизд бляд єба лайн сук гей лесбі негр жид москал чечен
        єврей україн росі русск америк німець німц міністр депутат санкц окупац полон
        заручн ворог атак удар бій бійц боєць конфлікт операц флот авіац літак
        гелікоптер дрон батаре гармат сбу кдб донос слідч допит обшук конфіск прав
        закон іслам христ церк релігі бог диявол чорт пекл рай мусульм кацап курв
        срач барига вилуп дурен дурн нардеп генштаб обстріл хунт покійн мертв цвинтар
        вирок свідок підозр позов буча урал корея сомалі сперм лайно гівн сран
        п'ян горілк алкогол цигарк тютюн курін ксенофоб член мігрант емігр митн
        допінг гетто колгосп британ грізн гріх труна губерн калібр конвой бункер
        вампір безвіз опоблок кндр ескадр воїн гарнізон гвард клинок торпед кілер анус
        збочен байстрюк бордель знищ каліц бостон глум маразм бандер пират маф рак
        пиво бомж повія
    """.split(),
    "en": """
        army armed arms soldier weapon bomb rocket missile tank bullet shell explo
        shot gun pistol rifle grenade mine death dead die kill murder corpse blood
        execut tortur prison jail cell court judge lawyer police cop arrest crime
        criminal thief steal terror fascis nazi putin kremlin president power party
        elect protest riot revolt rebel desert mobil draft front general captain
        officer sergeant major battal spy agent passport visa border refugee drug
        heroin cocaine sex porn suicide massacre racis violen victim vomit ass shit
        fuck damn bitch gay negro jew russia ukrain americ german minister sanction
        occup hostage enemy attack strike battle fight conflict warfare navy fleet
        plane drone cannon church god devil hell heaven islam christ religio sin
        stupid ugly fat naked kiss drunk coffin grave funeral corpse beer wine vodka
        whisk cigar tobacco smok casino gambl smith apache java skype inmate ambush
        brigade bunker alcohol autism cancer tumor pirate mafia bandit xbox yahoo destroy
    """.split(),
}

# Words that pass every rule above yet are still poor choices, named one by
# one after reading each list whole: war, violence, crime and punishment;
# politics, states, parties, symbols and organisations (Мемориал, Левада,
# Майдан, тризуб, триколор); slurs, insults and vulgarity; illness and death;
# religion; ethnonyms; names, brands and firms. Native speakers review these
# lists before a release (docs/replies-v1.md section 1.2); this is where a
# reviewer's strike-outs went first; later ones go into TOPIC_WORDS below.
EXCLUDED = {
    "ru": set(
        """
        агитация агрессия амнистия атаман бабло байконур бентли бишоп битва бригада будда
        варяг вердикт ветеран взлом винтовка воевода воин вражда вскрытие гарнизон гвардия
        геноцид генсек герб гестапо гибель голливуд горсовет дебил десант дивизия диктатор
        донна дума задница заговор замглавы захват избиение измена изгнание инвалид иуда
        кабмин казак канцлер киллер кинжал киска китаец коалиция конгресс консул кортеж
        крейсер крушение лазарет ламберт левада либерал лифчик любовник майдан мандат
        манифест маньяк марго мемориал мерседес москвич мразь наркоман национал некролог
        осколок отряд пехота плацдарм погром подлодка поджог позор придурок приказ прицел
        произвол рабство раввин рапорт раскол росс роуд сатана сбербанк сейм сенатор
        снайпер сражение схватка сучка теракт траур триколор трибун тролль турок ублюдок
        угроза указ унтер фашизм фрегат фриц хаджи харт хауса хонда хищение хрень цензура
        цыган чека шантаж шевроле шейх шериф штурм эмбарго эсминец эшелон японец испанец
        эрмитаж фифа мисс месье могила молебен молитва мечеть икона епископ исповедь
        крещение патриарх пастор пророк храм собор апостол божество демон алтарь вина
        надзор лишение инсульт инфаркт диабет ожирение эпидемия инфекция синдром диагноз
        обморок тошнота матка кишечник бюст брюхо идиот дрянь мерзость негодяй чувак
        пацан мужик пикап эскорт любитель исход капитал паника ужас кошмар печать
        опухоль вирус череп кулак мишень клятва орда орден рыцарь дуэль поединок
        реванш трофей царь государь монарх держава империя протокол рейд брифинг
        саммит кандидат коммуна совхоз мэрия губерния уезд самурай викинг ниндзя
        фараон цезарь пенальти башкир бразилец буддизм гепатит гетман госдолг демократ
        джихад дивизион идиотка игумен иномарка исполком капрал кларенс клевета комсомол
        конница лжец мерзавец монархия мундир мутант ордер патруль подлец рознь сибиряк
        склероз слежка сталкер татарин толстяк узник хартия цыганка часовня шинник чина
        злоба брань беглец высадка дозор атеизм даун идиотизм медресе монахиня мститель
        педофил побоище патриот заповедь аббат левиафан патрон подстава слизь кайла
        """.split()
    ),
    "uk": set(
        """
        аборт авіаудар агонія агресія агітація аллах амністія анексія арсенал атеїст
        барикада бетмен бойкот бовдур бурят біблія виконком вождь втеча втікач геморой
        гендер гепатит гроб грабіж грузин дебіл держборг дерибан диверсія дивізія
        дисидент дурак дурепа дурість есмінець ешелон заборона закордон заповіт заслання
        зачистка злом знущання зрада йолоп кабмін кайзер камаз камуфляж капелан капрал
        кинджал кодло командир комунізм корупція кримінал лінкор марш меджліс мент
        меморіал месник напад наліт насилля нашестя наїзд нацбанк нація окупант олігарх
        оргія отаман отруєння падлюка пентагон петля побиття погроза похорон педофіл
        підарас підкуп путина путч пухлина рагуль розстріл руйнація русизм саботаж сапер
        саван сифіліс срака ствол стеження суржик сутичка тиран тризуб троль убивство
        ультрас урод уніформа ураження фланг француз хабар хорват хортиця холера чума
        шльондра шлюха шабля шпиталь штандарт індієць італієць іспанець японець китаєць
        англієць араб вірмен байрам синагога єпархія томос ігумен священик причастя
        рабин диякон чернець монастир літургія єпископ ікона молебень базиліка таїнство
        архангел синод вікарій обряд сповідь мученик пілігрим аеропорт європа волга
        олімп оскар айпад айфон андроїд боїнг діарея сморід пронос сифіліс склероз
        менінгіт глаукома плацента піхва пузо черево тампон некроз сепсис віспа астма
        артрит анемія інсульт інфаркт діабет ожиріння епідемія пандемія інфекція
        анамнез діагноз недуг хвороба гарячка кашель задишка агонія гній гниття
        дурепа негідник потвора нікчема мерзота гидота тварюка товстун бидло
        самогон похмілля пияцтво кальян пика ляпас побратим вишкіл кадет юнкер
        редут цитадель фортеця бастіон вартовий опонент корсет фашизм
        імперія ханство кайзер префект регент емір президія облрада сільрада
        лісгосп ощадбанк конгрес коаліція асамблея сенат саміт депутат агресор аеродром
        біткоїн гангстер гієна грабунок дивізіон дієцезія зіслання зрадниця катюша
        комуніст корвет корсар криївка кіннота маршал мічман монгол нападник нелюд отрута
        рать рейхстаг румун самосуд склеп талмуд убивця утікач хабарник царівна шибеник
        ієрей покемон пантеон рецидив інсулін скальп шприц біженець бритва гробниця
        дробовик жандарм люцифер монархія морда паскуда пасха псалом рейх чекіст шеврон
        паломник наркоз фетиш шарлатан одесит римлянин осуд свячення командор лучник
        вібратор глухота жгут італійка мокша ланос злюка пуштун угорець гадя празник
        """.split()
    ),
    "en": set(
        """
        abuse addict aids amnesty badass blah caliber cavalry chevy choking corporal
        democrat dictator ebay enlisted exile fled google illegal itunes jimmy john
        lawsuit lego manila nintendo oops oxford panama parole patrol pentagon poison
        pregnant purge python rehab sabotage scam sheriff siege slain sword timothy
        treason trigger trump twitter unlawful unrest veteran veto walmart warrior womb
        wrath wreck vicious vote voting suspect theft outrage outbreak nuclear uranium
        imperial immortal pagan preacher pope sermon gospel deity almighty covenant
        prayer evil hatred misery nasty hurt injury disease pandemic epidemic asthma
        diabetes insane dumb liar savage trapped escape exodus celtic dutch french
        latin atlantic pacific congress senate caucus federal judicial verdict trial
        scrutiny security defense embassy emperor majesty dominion royal king
        princess duchess parish pastor saint sacred bless faith devotion annex apostle
        brethren bribe cadillac defeat diabetic diaper dictate diocese epilepsy flee
        hangover hunt kingdom manpower opium patriot sabbath senator serpent sworn voter
        wrestle autistic defender trolling swore hunting betray brute hunter
        """.split()
    ),
}


# The same topics again, after a second reader's pass over the lists, kept by
# topic so a reviewer can see why a word went. Stems strike every word they
# begin (folded, in both Cyrillic lists); words strike themselves alone, for
# stems that would take innocent words with them (полк/полка, доза/дозвіл).
TOPIC_STEMS: dict[str, dict[str, tuple[str, ...]]] = {
    "war, weapons and the military": {
        "ru": tuple(
            """
            вояк залп прицел затвор орудие вышк адмирал вертолет звани звитяг маневр
            мишен кибор спецназ засад блокпост блокад свастик рейнджер летчик десант
            дивизи гвард пехот артилл снайпер штурм оборон окоп траншей казарм
            каск бронежил бронетех бтр камуфл бойн сраж побед капитул перемир
            вторжен наступлен ухил морпих колони популис комисс колдун чаклун
            целит терап акушер ведьм відьм зрад токсик лейкем меланом цироз никотин
            аритм абсцес антиген аорт ринит миссион протез отступлен эвакуац воздушн тревог сирен укрыти
            сховищ бомбоуб обстрел ранени ранен контуз калек инвалид ветеран
            дезертир уклон медосмотр медоглад военкомат военком комисар комбат
            комрот командир полковод ополч партизан диверс саботаж разминир
            патрон пуля пули кобур ружь револьв мушкет арбалет катапульт
            пулемет огнемет сабл шпаг меч кинжал нож тесак топор сокир
            шлем бронь доспех щит знамен вымпел трофе медал орден наград
        """.split()
        ),
        "en": tuple(
            """
            alien cruel crush immun isolat identif reform tactic glori debat proof
            secre nurs marx civic captiv cardi estrog inflict escalat resist
            comrade deploy enforce armor armour helmet shield guard target
            retreat salute scout victor revolver turret arson militar militia
            troop regiment platoon squad convoy barrack trench sniper artillery
            ammo ammunit holster rifle knife razor dagger blade sword spear
            arrow archer musket canon cannon medal combat assault invade invasion
            raid siege surrender ceasefire warrior veteran wound
        """.split()
        ),
    },
    "leaving, exile and the draft": {
        "ru": tuple(
            """
            контракт бегств беглец убежищ трусост трус лагер табор табир
            изгнан эмигр иммигр миграц мигра депорт экстрад бежен переселен
            отсроч отставк притулок неволи полон заложник ухилен уклонист
            втеч втикач утек нелегал контрабанд
        """.split()
        ),
        "en": tuple(
            """
            defer getaway abroad relocat emigra immigra migrant asylum refuge
            deport exile fled flee escap evade evasion smuggl border
        """.split()
        ),
    },
    "politics, the state and its symbols": {
        "ru": tuple(
            """
            полити свобод олигарх наци гимн флаг петици либерал патриот активист
            анарх популиз идеолог доктрин бюллетен голосов референд демократ
            диктат тотали режим оппозиц санкц фракц лозунг пропаганд агитац
            цензур госдум держдум дума рада верховн парламент губернат мэр
            сенат конгресс партий союзник гидност очильник намесник державн
            держав государ империал импери монарх коммуни социализ капитализ
            феминиз гендер клятв присяг манифест митинг пикет марш шестви
            забастов бастов
        """.split()
        ),
        "en": tuple(
            """
            national citizen freedom liberty feminis gender ideolog petition
            slogan pledge govern deputy nominee mandate policy polic census
            politic democra republic parliament congress senat regime anthem
            flag banner protest rally march strike union comrad patriot
        """.split()
        ),
    },
    "courts, police and crime": {
        "ru": tuple(
            """
            трибунал крад доказ ухвал апелляц апеляц улик свидетел очевид сыщ
            следств следоват дозн показан залог выкуп шантаж подделк подробк
            афер мошен хакер хулиган клевет наклеп порушн нарушит правонаруш
            кодекс слушани заседан надзор нагляд охран безопасн безпек охорон угроз загроз
            досье допуск явк шифр дело кража грабеж разбо похищ рэкет
            вымогат взятк хабар коррупц контрабан конвоир надзират
        """.split()
        ),
        "en": tuple(
            """
            evidence witness penalty guilt innocent culprit felon convict
            fraud forger ransom bribe hacking hacker stash smuggl thief burglar
            robber robbery heist hostage custody warrant trial testimon
            accus alibi detective investig interrogat surveil
        """.split()
        ),
    },
    "drugs and drink": {
        "ru": tuple(
            """
            закладк дилер порошок нарко героин кокаин амфетамин марихуан
            гашиш травк виски бурбон мартини коньяк текил абсент
            самогон брага вино пиво водк шампанск ликер бренди сидр
        """.split()
        ),
        "en": tuple(
            """
            scotch cider whisk vodka tequila brandy liquor tavern
            stoned weed cannabis opiat overdose
        """.split()
        ),
    },
    "religion": {
        "ru": tuple(
            """
            крест хрест троиц ересь ерес жрец батюшк завет обител тора святост
            свят пришест хадж секта сект абат янгол ангел каплиц костел католи
            православ протестант баптист хрещ крещ грешн греш молит молеб
            монах монаст чернец черниц инок пастор пастир проповед пророк
            апостол архиер епископ митрополит диакон дьяк священ иконост икон
            мечет синагог храм собор церк часовн литург евхарист причаст
            исповед покаян рай пекл ад демон сатан люцифер будд индуи
            кришн ислам мусульм коран библи евангел псалм псалом реквием
            мавзол обелиск прах таинств житие миро
        """.split()
        ),
        "en": tuple(
            """
            trinity ritual psychic pray priest monk nun bishop pastor preach
            prophet saint sacred holy church chapel temple mosque synagog
            bible gospel psalm sermon heaven hell satan demon angel spirit
            soul worship faith pilgrim
        """.split()
        ),
    },
    "illness, injury and death": {
        "ru": tuple(
            """
            грипп болезн больниц хвороб симптом зараз рана язв вирус вакцин
            карантин амнез депресс психиатр психиатр психоз безсон бессон
            инфекц эпидем пандем инсульт инфаркт рак опухол диабет диагноз
            лихорад кашл туберкул гепатит вич спид умер умир покойн мертв
            смерт гиб гроб похорон останк уламк облом уламок влучан поранен
            травм перелом ожог шрам увеч зморшк морщин
        """.split()
        ),
        "en": tuple(
            """
            departed demise ashes grieving grief mourn skull skeleton bone
            illness virus syndrome chronic surgery surgeon hospital
            disorder infect fever cough disease patient clinic wound injur
            fracture cancer tumor stroke coma dying dead death bury burial
            tomb grave corpse
        """.split()
        ),
    },
    "insults and shame": {
        "ru": tuple(
            """
            идиот дебил кретин дурак дура боягуз негодя подлец мерзав
            сволоч скотин быдл урод изверг нелюд грешник
        """.split()
        ),
        "en": tuple(
            """
            idiot moron fool coward loser jerk creep freak
        """.split()
        ),
    },
    "races, peoples and places": {
        "ru": tuple(
            """
            арий ариец афро киянин дарниц оболон петривк полтав вуйк заир
            негр азиат кавказ славян европ азия африк америк китай япон
            индий индей цыган турк татар еврей араб перс грузин армян
        """.split()
        ),
        "en": tuple(
            """
            turkey olympic african asian arab indian mexican irish scottish
            welsh english british american canadian swiss greek roman
        """.split()
        ),
    },
    "brands, names and firms": {
        "ru": tuple(
            """
            гривн твиттер рено мартини тойот опел биткой биткоин гага зика
            перри честер попович финн геркулес золушк фигаро ниндзя викинг
            хартия эскорт беркут
        """.split()
        ),
        "en": tuple(
            """
            ipad iphone android google apple nokia canon nikon sony tesla
            amazon netflix facebook
        """.split()
        ),
    },
}

# Words struck alone: a stem would take innocent words with them, or the
# word is not a plain noun in its dictionary form (an inflected form, a
# particle, half of a phrase) though the dictionary reads it as one.
TOPIC_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "war and the military": {
        "ru": tuple(
            "полк рота взвод наказ приказ чота вылет рубеж тир мина дот рана бес гад трус".split()
        ),
        "en": tuple("bar pub rum gin scar".split()),
        "uk": tuple("полк наказ чота рубіж вишкіл".split()),
    },
    "politics and the state": {
        "ru": tuple(
            "нация родина знамя созыв избрание пакт вече фракция отставка поручик спец соратник".split()
        ),
        "uk": tuple("нація батьківщина пакт віче".split()),
    },
    "not a plain noun in its dictionary form": {
        "ru": tuple("летие гран кунг пойнт поул стен уток мышей леса треста реал".split()),
        "uk": tuple("треба кшталт зморшок".split()),
    },
    "war, weapons, force and the military (read after regenerating)": {
        "ru": tuple("булава ефрейтор обоз осада полигон стычка выпад дебош штурвал".split()),
        "uk": tuple(
            "армада бліндаж бранець кортик легіон морпіх навала облога поручник радист форпост сармат колючка кашкет".split()
        ),
        "en": tuple("wrecking".split()),
    },
    "leaving, borders and papers (read after regenerating)": {
        "ru": tuple("побег пошлина контроль изолятор".split()),
        "uk": tuple("держмито прописка ухиляння сховок ізгой ізолятор".split()),
        "en": tuple("depart embark".split()),
    },
    "politics, the state, crowns and eras (read after regenerating)": {
        "ru": tuple(
            "билль буржуа зампред застой марксизм обком ценз флешмоб престол рабыня пласт".split()
        ),
        "uk": tuple(
            "деспот династія популіст тиранія феодал цензор гарант керманич корона падишах свита рабиня радгосп євнух".split()
        ),
        "en": tuple("nation".split()),
    },
    "courts, crime and money passed under the table (read after regenerating)": {
        "ru": tuple("жулик истец нотариус подкуп синдикат умысел шредер трафик".split()),
        "uk": tuple("фізособа колонія наруга".split()),
        "en": tuple("crook evident".split()),
    },
    "religion and the supernatural (read after regenerating)": {
        "ru": tuple("имам муфтий нечисть смирение дзен лоно заклятие".split()),
        "uk": tuple(
            "агнець вертеп десятина догма духівник капличка костьол мольфар обітниця псалтир скит чакра віщун".split()
        ),
        "en": tuple("deacon rebirth vowed".split()),
    },
    "illness, the body, sex and death (read after regenerating)": {
        "ru": tuple("боль насморк педиатр плацебо сгусток гарем бабник".split()),
        "uk": tuple(
            "бинт джгут болячка біопсія вагіна гангрена гастрит ембріон ерекція еритема забиття заїкання лімфома мігрень морфін тромб вдівець кончина морг мрець саркофаг оголення".split()
        ),
        "en": tuple("coronary obituary skeletal surgical feminine".split()),
    },
    "drink, drugs, gambling (read after regenerating)": {
        "ru": tuple("опиум".split()),
        "uk": tuple("херес опіум загул".split()),
        "en": tuple("stout roulette".split()),
    },
    "insults, slang and vulgarity (read after regenerating)": {
        "ru": tuple("засранец лакей баба башка глюк".split()),
        "uk": tuple("псих епік".split()),
    },
    "peoples, places, names and brands (read after regenerating)": {
        "ru": tuple(
            "белорус ирландец румын скиф сакс раса хинди аэрофлот вольво пепси твит ришелье морин амелия пегас ляпис торо рами питта хоррор".split()
        ),
        "uk": tuple(
            "болгарин ерзя мавр ліберія гавана бескид бистриця тернівка рейтер аерофлот сітроен фіат ікарус памперс конкорд ммоль номен спін".split()
        ),
        "en": tuple("polish ipod mandarin".split()),
    },
    "third reading: war, crime, politics and faith": {
        "ru": tuple("боцман сообщник плагиат эсер джинн чародей мясник погибель виконт".split()),
        "uk": tuple(
            "динаміт четар піке аконіт порука масон комунар шайтан содом нунцій панотець".split()
        ),
        "en": tuple("curfew enlist robbing tainted".split()),
    },
    "third reading: illness, insults, peoples, names, gambling": {
        "ru": tuple("аутизм пластырь болван ругань бабка казах узбек муромец гарт твин".split()),
        "uk": tuple(
            "кандидоз ларингіт стоматит тромбоз овуляція фобія рожа ридання психопат нероба русич зулу крилов галатея клондайк стокер джекпот".split()
        ),
        "en": tuple("douche morphine native".split()),
    },
    "fourth reading": {
        "ru": tuple("рамблер хайд тупость хамство керн".split()),
        "uk": tuple(
            "вотум галера гематома карцер утреня здуття козелець локус аншлюс мародер ротмістр хомутець осанна дуся василіск схованка".split()
        ),
    },
    "a reading of each whole list: war, force and the state": {
        "ru": tuple(
            """
            витязь героизм доблесть натиск оплот сводка борец борьба защита атташе
            резерв вызов взятие ношение сжигание погоня резидент посол прошение реформа
            союз альянс управа комитет чиновник преемник народ орган миссия царевич
            царица царство трон
        """.split()
        ),
        "uk": tuple(
            """
            подвиг відзнака салют твердиня опір протидія товариш взяття нищення руїна
            розбрат обурення анклав декрет делегат речник радник унія ярмо скіпетр
            свавілля
        """.split()
        ),
        "en": tuple(
            """
            fire force glory tactics uniform order obey launch alert alarm siren capture
            chasing struggle pact reform debate state civil capital supreme
        """.split()
        ),
    },
    "a reading of each whole list: courts, papers, money and leaving": {
        "ru": tuple("алиби арбитр должник детектив штраф пропуск ловушка распад".split()),
        "uk": tuple(
            """
            боржник кредитор відкуп відплата викриття вчинення догана дільниця відділок
            слухання мантія імунітет офшор акциз транзит довідка дозвіл авіарейс виїзд
            валіза виходець чужинець знаряддя кубло злотий
        """.split()
        ),
        "en": tuple(
            """
            alias alien identity legal pardon permit proof sentence swear flight leave
            hidden isolated shelter resident secret
        """.split()
        ),
    },
    "a reading of each whole list: faith, illness, vice and names": {
        "ru": tuple(
            """
            ведьма колдун шаман идол кардинал ковчег оракул мадонна гуру безумие пациент
            клиника медицина препарат терапия аллергия хирург фельдшер синяк скелет плоть
            утрата казино покер лотерея батя прикол бродяга супермен франк фрау френч
            охотник
        """.split()
        ),
        "uk": tuple(
            """
            відьма чаклун ідол глорія вінчання отець каяття зцілення служіння піст
            різдво колядка щедрик капела душа акушер ампула антидот артерія атрофія
            загоєння зачаття катетер клініка марення медик невролог нежить озноб
            ортопед пацієнт тремор укол уролог терапія хірург щеплення токсин сказ
            втрата жахіття алярм уран свинець спирт броварня корчма хмільник девон
            юпітер амур амазонка цариця
        """.split()
        ),
        "en": tuple(
            """
            agony anxiety bully cruel crushed disgrace dosage fury immune sick suffer
            turmoil orphan nurse vascular karma miracle cardinal guru santa secular
            poker lottery nicotine licking ninja kung female phoenix sierra jersey
        """.split()
        ),
    },
    "a reading of what the whole-list strikes brought in": {
        "ru": tuple(
            """
            арбитраж безумец защитник запор иврит избирком инион колдунья откуп подонок
            политрук расплата сброд свами сожжение урон хван царствие шинель стояк
            месиво окурок осетин мицубиси геллер гусар идиш корн либидо распятие дикарь мулла ниссан пост
        """.split()
        ),
        "uk": tuple(
            """
            амуніція англійка бровар вамп відьмак голгофа злягання катедра кетамін кліка
            лярва неявка протез радниця розбій самвидав синець таверна улан урна
            фанатик швейцар азовець акафіст облава онколог плейбой псоріаз рупія целібат
            шулер ледар згусток хопер
        """.split()
        ),
        "en": tuple(
            """
            aliens cadet capitol captive rotting struck nemesis embargo myspace perish
            seizing pamphlet perjury siberian slug
        """.split()
        ),
    },
    "the first reviewer's strikes, as given": {
        lang: tuple(words.split())
        for lang, words in (
            (
                "ru",
                "контракт политика свобода режим вышка затвор орудие рубеж убежище бегство отставка поручик охрана очевидец залог сыщик шифр слушание кодекс лагерь изоляция грипп болезнь больница симптом зараза рана язва прах реквием мавзолей обелиск крест таинство троица ересь житие жрец батюшка завет миро обитель тора олигарх нация родина гимн флаг знамя лозунг петиция фракция избрание созыв гривна твиттер рено мартини виски бурбон хулиган хакер подделка выкуп закладка дилер доза порошок беркут спец соратник досье явка допуск тревога сирена вылет миграция трусость летие гран кунг афро пойнт поул стен уток мышей леса треста реал перри честер попович финн геркулес золушка фигаро вакцина шествие",
            ),
            (
                "uk",
                "вояк залп полк приціл адмірал вертоліт звання звитяга маневр мішень наказ чота кіборг табір укриття сховище рубіж санітар медогляд ухилення притулок міграція неволя останок уламок влучання загроза тривога безпека охорона нагляд апеляція ухвала доказ наклеп порушник крадій афера підробка трибунал ідіот боягуз грішник каплиця костел католик хрещення хрест святість пришестя хадж секта абат янгол політика патріот активіст анархія популізм ліберал націонал ідеолог доктрина пакт віче бюлетень союзник гідність очільник намісник киянин дарниця оболонь петрівка полтавка вуйко тойота опель біткойн гага арій заїр зіка треба кшталт зморшок інвалід ніндзя вікінг хартія ескорт блокада епіцентр вимпел двобій забій сокира рейнджер льотчик амнезія депресія психіатр безсоння вірус карантин",
            ),
            (
                "en",
                "comrade deploy enforce anthem armor helmet shield guard target deferred retreat salute scout victory national citizen freedom liberty feminist gender ideology petition slogan pledge govern deputy nominee mandate policy census evidence witness penalty guilt innocent relocate abroad getaway departed demise ashes grieving skull skeleton illness virus syndrome chronic surgery hospital disorder stash knife razor psychic trinity ritual ipad android scotch cider tavern turkey hacking olympic",
            ),
        )
    },
}

DEMONYM_ENDINGS = ("янин", "анин", "чанин", "ичанка", "янка")


def _check_sources() -> None:
    for name, version in PINNED.items():
        found = importlib.metadata.version(name)
        if found != version:
            sys.exit(f"{name} {found} is installed; this script makes the lists from {version}")


def _close(a: str, b: str) -> bool:
    """True if b is one typing slip from a (optimal string alignment distance <= 1)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# Russian and Ukrainian share most of this vocabulary, spelt a little
# differently (либерал/ліберал, прицел/приціл, аппеляция/апеляція). A stem
# or word struck for either language is struck from both Cyrillic lists, and
# they are compared folded: the vowels и і ї ы е є э ё as one letter, ґ as г,
# no soft sign or apostrophe, doubled letters as one. Folding only ever
# strikes more words, never fewer.
_FOLD = str.maketrans(
    {
        "і": "и",
        "ї": "и",
        "ы": "и",
        "е": "и",
        "є": "и",
        "э": "и",
        "ё": "и",
        "ґ": "г",
        "ь": None,
        "ъ": None,
        "'": None,
    }
)


def _fold(word: str) -> str:
    folded = word.lower().translate(_FOLD)
    return "".join(c for i, c in enumerate(folded) if i == 0 or c != folded[i - 1])


def _cyrillic(table: dict[str, Iterable[str]]) -> frozenset[str]:
    return frozenset(_fold(w) for lang in ("ru", "uk") for w in table[lang])


_STEMS = {
    "en": tuple(BLOCKED_STEMS["en"])
    + tuple(s for topic in TOPIC_STEMS.values() for s in topic.get("en", ())),
    "cyr": tuple(
        sorted(
            _cyrillic(BLOCKED_STEMS)
            | {
                _fold(s)
                for topic in TOPIC_STEMS.values()
                for lang in ("ru", "uk")
                for s in topic.get(lang, ())
            }
        )
    ),
}
_WORDS = {
    "en": frozenset(EXCLUDED["en"])
    | {w for topic in TOPIC_WORDS.values() for w in topic.get("en", ())},
    "cyr": _cyrillic(EXCLUDED)
    | {
        _fold(w)
        for topic in TOPIC_WORDS.values()
        for lang in ("ru", "uk")
        for w in topic.get(lang, ())
    },
}


def _blocked(word: str, lang: str) -> bool:
    key = "en" if lang == "en" else "cyr"
    folded = word if lang == "en" else _fold(word)
    if folded in _WORDS[key] or folded.startswith(_STEMS[key]):
        return True
    # A person named by where they come from (киянин, москвич, одесит) says
    # where a requester is from.
    return lang != "en" and folded.endswith(DEMONYM_ENDINGS)


def _grammemes(parse: object) -> list[str]:
    return str(parse.tag).replace(" ", ",").split(",")  # type: ignore[attr-defined]


def _is_plain_noun(morph: object, word: str, lang: str) -> bool:
    if not morph.word_is_known(word):  # type: ignore[attr-defined]
        return False  # guessed by the predictor: a name, a loan word, a typo
    parses = morph.parse(word)  # type: ignore[attr-defined]
    if any(BAD_GRAMMEMES & set(_grammemes(p)) for p in parses):
        return False
    # Only a noun, in every reading: no adjective used as a noun (левый),
    # no verb form (печь), no adverb (вільно).
    if any(p.tag.POS != "NOUN" for p in parses):
        return False
    # Only a dictionary form, in every reading: no inflected form that
    # happens to spell another noun too (мышей, уток, стен, леса).
    if any(p.normal_form != word for p in parses):
        return False
    if lang == "uk":
        # The Ukrainian dictionary has no grammeme for proper names; its
        # common nouns carry animacy first (NOUN,inan ...), while the names
        # of places, firms and people it lists do not (NOUN,masc,inan).
        parses = [p for p in parses if _grammemes(p)[1:2] in (["inan"], ["anim"])]
    return any("nomn" in p.tag and "plur" not in p.tag and p.normal_form == word for p in parses)


def _candidates(lang: str) -> Iterator[str]:
    import wordfreq

    if lang == "en":
        # Two lists already chosen for this job: BIP-39's English list (MIT,
        # via python-mnemonic) and the EFF's long passphrase list (CC BY 3.0
        # US, via xkcdpass), both free of names, taken together in
        # wordfreq's frequency order (most common first).
        from importlib.resources import files

        from mnemonic import Mnemonic

        eff = files("xkcdpass").joinpath("static/eff-long").read_text(encoding="utf-8")
        pool = set(Mnemonic("english").wordlist) | {
            line.split()[-1] for line in eff.splitlines() if line.strip()
        }
        rank = {w: i for i, w in enumerate(wordfreq.top_n_list("en", 200_000))}
        yield from sorted(pool, key=lambda w: (rank.get(w, len(rank)), w))
        return
    import pymorphy3

    morph = pymorphy3.MorphAnalyzer(lang=lang)
    for word in wordfreq.top_n_list(lang, CANDIDATES):
        if (
            MIN_LEN <= len(word) <= MAX_LEN
            and set(word) <= ALPHABETS[lang]
            and _is_plain_noun(morph, word, lang)
        ):
            yield word


def select(lang: str, candidates: Iterable[str], taken: set[str]) -> list[str]:
    chosen: list[str] = []
    prefixes: set[str] = set()
    seen: set[str] = set()
    for word in candidates:
        if word in seen:
            continue
        seen.add(word)
        if not (MIN_LEN <= len(word) <= MAX_LEN) or not set(word) <= ALPHABETS[lang]:
            continue
        if word in taken or _blocked(word, lang) or word[:PREFIX] in prefixes:
            continue
        if any(_close(word, other) for other in chosen):
            continue
        chosen.append(word)
        prefixes.add(word[:PREFIX])
        if len(chosen) == LIST_SIZE:
            return sorted(chosen)
    sys.exit(f"{lang}: only {len(chosen)} words pass the rules; {LIST_SIZE} are needed")


def main() -> None:
    _check_sources()
    OUT.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    # Russian before Ukrainian, and Ukrainian leaves out every Russian word:
    # the two lists share no word, so a code names its own list.
    for lang in ("en", "ru", "uk"):
        words = select(lang, _candidates(lang), taken)
        taken |= set(words)
        (OUT / f"{lang}.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        print(f"{lang}: {len(words)} words")


if __name__ == "__main__":
    main()
