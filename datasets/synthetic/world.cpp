// The lexicon of the world. Russian forms are spelled out per case rather than
// derived by rules: twenty names and eight towns are cheaper to write than a
// declension engine, and every form is then checkable by eye.
#include "datasets/synthetic/world.h"

#include "datasets/synthetic/rng.h"

namespace qlab::synthetic {

const char* language_code(Lang lang) { return lang == Lang::En ? "en" : lang == Lang::Es ? "es" : "ru"; }

const std::vector<Person>& people() {
  static const std::vector<Person> v = {
      {"Mila", "Mila", {"Мила", "Милы", "Миле", "Милу", "Милой"}, true},
      {"Anna", "Ana", {"Анна", "Анны", "Анне", "Анну", "Анной"}, true},
      {"Lena", "Lena", {"Лена", "Лены", "Лене", "Лену", "Леной"}, true},
      {"Sofia", "Sofía", {"София", "Софии", "Софии", "Софию", "Софией"}, true},
      {"Nora", "Nora", {"Нора", "Норы", "Норе", "Нору", "Норой"}, true},
      {"Vera", "Vera", {"Вера", "Веры", "Вере", "Веру", "Верой"}, true},
      {"Rosa", "Rosa", {"Роза", "Розы", "Розе", "Розу", "Розой"}, true},
      {"Clara", "Clara", {"Клара", "Клары", "Кларе", "Клару", "Кларой"}, true},
      {"Olga", "Olga", {"Ольга", "Ольги", "Ольге", "Ольгу", "Ольгой"}, true},
      {"Maria", "María", {"Мария", "Марии", "Марии", "Марию", "Марией"}, true},
      {"Ivan", "Iván", {"Иван", "Ивана", "Ивану", "Ивана", "Иваном"}, false},
      {"Tomas", "Tomás", {"Томас", "Томаса", "Томасу", "Томаса", "Томасом"}, false},
      {"Pablo", "Pablo", {"Пабло", "Пабло", "Пабло", "Пабло", "Пабло"}, false},
      {"Oleg", "Oleg", {"Олег", "Олега", "Олегу", "Олега", "Олегом"}, false},
      {"Marco", "Marco", {"Марко", "Марко", "Марко", "Марко", "Марко"}, false},
      {"Leon", "León", {"Леон", "Леона", "Леону", "Леона", "Леоном"}, false},
      {"Felix", "Félix", {"Феликс", "Феликса", "Феликсу", "Феликса", "Феликсом"}, false},
      {"Boris", "Boris", {"Борис", "Бориса", "Борису", "Бориса", "Борисом"}, false},
      {"Anton", "Antón", {"Антон", "Антона", "Антону", "Антона", "Антоном"}, false},
      {"Victor", "Víctor", {"Виктор", "Виктора", "Виктору", "Виктора", "Виктором"}, false},
  };
  return v;
}

const std::vector<Town>& towns() {
  static const std::vector<Town> v = {
      {"Oakvale", "Robledal", {"Дубровка", "Дубровки", "Дубровке", "Дубровку"},
       {"a quiet village among old oak trees", "un pueblo tranquilo entre robles viejos",
        "тихая деревня среди старых дубов"}, 0, 0},
      {"Birchwood", "Abedular", {"Берёзово", "Берёзова", "Берёзове", "Берёзово"},
       {"a village at the edge of a birch forest", "un pueblo al borde de un bosque de abedules",
        "деревня на краю берёзовой рощи"}, 6, 4},
      {"Stonebridge", "Puentepiedra", {"Каменск", "Каменска", "Каменске", "Каменск"},
       {"a town with an old stone bridge over the river", "una villa con un viejo puente de piedra sobre el río",
        "городок со старым каменным мостом через реку"}, 12, 0},
      {"Millbrook", "Molinar", {"Мельниково", "Мельникова", "Мельникове", "Мельниково"},
       {"a village where a water mill turns on the brook", "un pueblo donde un molino de agua gira junto al arroyo",
        "деревня, где у ручья крутится водяная мельница"}, 3, 9},
      {"Riverton", "Riberas", {"Заречье", "Заречья", "Заречье", "Заречье"},
       {"a busy town on the big river with a market every Saturday",
        "una villa animada junto al gran río, con mercado cada sábado",
        "оживлённый городок на большой реке, где по субботам работает рынок"}, 9, 12},
      {"Hillcrest", "Altozano", {"Горки", "Горок", "Горках", "Горки"},
       {"a village on a hill with a view of the whole valley", "un pueblo en una colina desde donde se ve todo el valle",
        "деревня на холме, откуда видна вся долина"}, 15, 8},
      {"Saltmere", "Salinas", {"Солеварск", "Солеварска", "Солеварске", "Солеварск"},
       {"a town beside a salt lake where people dry fish", "una villa junto a un lago salado donde la gente seca pescado",
        "городок у солёного озера, где сушат рыбу"}, 18, 14},
      {"Greenfield", "Campoverde", {"Полянка", "Полянки", "Полянке", "Полянку"},
       {"a farming village surrounded by green fields", "un pueblo de granjeros rodeado de campos verdes",
        "деревня фермеров среди зелёных полей"}, 0, 15},
  };
  return v;
}

const std::vector<Occupation>& occupations() {
  static const std::vector<Occupation> v = {
      {"a baker", {"panadero", "panadera"}, {"пекарем", "пекарем"}},
      {"a teacher", {"maestro", "maestra"}, {"учителем", "учительницей"}},
      {"a fisher", {"pescador", "pescadora"}, {"рыбаком", "рыбачкой"}},
      {"a carpenter", {"carpintero", "carpintera"}, {"плотником", "плотником"}},
      {"a doctor", {"médico", "médica"}, {"врачом", "врачом"}},
      {"a farmer", {"granjero", "granjera"}, {"фермером", "фермером"}},
      {"a musician", {"músico", "música"}, {"музыкантом", "музыкантом"}},
      {"a potter", {"alfarero", "alfarera"}, {"гончаром", "гончаром"}},
  };
  return v;
}

const std::vector<Pet>& pets() {
  static const std::vector<Pet> v = {
      {{"a gray cat", "un gato gris", "серый кот"}, "серого кота", {"cat", "el gato", "кот"}},
      {{"a brown dog", "un perro marrón", "коричневая собака"}, "коричневую собаку", {"dog", "el perro", "собака"}},
      {{"a white goat", "una cabra blanca", "белая коза"}, "белую козу", {"goat", "la cabra", "коза"}},
      {{"a green parrot", "un loro verde", "зелёный попугай"}, "зелёного попугая", {"parrot", "el loro", "попугай"}},
      {{"a small rabbit", "un conejo pequeño", "маленький кролик"}, "маленького кролика", {"rabbit", "el conejo", "кролик"}},
      {{"a black horse", "un caballo negro", "чёрный конь"}, "чёрного коня", {"horse", "el caballo", "конь"}},
      {{"a yellow duck", "un pato amarillo", "жёлтая утка"}, "жёлтую утку", {"duck", "el pato", "утка"}},
      {{"a spotted cow", "una vaca manchada", "пятнистая корова"}, "пятнистую корову", {"cow", "la vaca", "корова"}},
  };
  return v;
}

const std::vector<Dish>& dishes() {
  static const std::vector<Dish> v = {
      {{"apple pie", "la tarta de manzana", "яблочный пирог"}, "яблочный пирог",
       {{{"Peel and slice four apples.", "Pela y corta cuatro manzanas.", "Очистите и нарежьте четыре яблока."},
         {"Mix flour, butter and a little sugar into a soft dough.",
          "Mezcla harina, mantequilla y un poco de azúcar hasta tener una masa suave.",
          "Смешайте муку, масло и немного сахара в мягкое тесто."},
         {"Put the dough in a dish, add the apples and cover them with more dough.",
          "Pon la masa en un molde, añade las manzanas y cúbrelas con más masa.",
          "Выложите тесто в форму, добавьте яблоки и накройте их тестом."},
         {"Bake the pie in a hot oven for forty minutes.", "Hornea la tarta durante cuarenta minutos en el horno caliente.",
          "Выпекайте пирог в горячей духовке сорок минут."}}}},
      {{"fish soup", "la sopa de pescado", "уха"}, "уху",
       {{{"Put a pot of water on the fire and add salt.", "Pon una olla con agua al fuego y añade sal.",
          "Поставьте кастрюлю с водой на огонь и посолите."},
         {"Add potatoes, an onion and a carrot, cut into pieces.",
          "Añade patatas, una cebolla y una zanahoria cortadas en trozos.",
          "Добавьте картофель, лук и морковь, нарезанные кусочками."},
         {"When the potatoes are soft, add the fish and cook for ten minutes.",
          "Cuando las patatas estén blandas, añade el pescado y cocina diez minutos.",
          "Когда картофель станет мягким, положите рыбу и варите десять минут."},
         {"Serve the soup hot with fresh herbs and bread.", "Sirve la sopa caliente con hierbas frescas y pan.",
          "Подавайте уху горячей, с зеленью и хлебом."}}}},
      {{"mushroom stew", "el guiso de setas", "грибное рагу"}, "грибное рагу",
       {{{"Wash the mushrooms and cut them into slices.", "Lava las setas y córtalas en láminas.",
          "Вымойте грибы и нарежьте их ломтиками."},
         {"Fry an onion in butter until it is golden.", "Fríe una cebolla en mantequilla hasta que esté dorada.",
          "Обжарьте лук на сливочном масле до золотистого цвета."},
         {"Add the mushrooms, some potatoes and a cup of water.", "Añade las setas, unas patatas y una taza de agua.",
          "Добавьте грибы, немного картофеля и стакан воды."},
         {"Let the stew cook slowly for half an hour and add salt to taste.",
          "Deja que el guiso se cocine despacio media hora y añade sal al gusto.",
          "Тушите рагу на медленном огне полчаса и посолите по вкусу."}}}},
      {{"berry jam", "la mermelada de bayas", "ягодное варенье"}, "ягодное варенье",
       {{{"Wash the berries and take off the stems.", "Lava las bayas y quítales los tallos.",
          "Переберите и вымойте ягоды."},
         {"Put the berries in a pot and cover them with sugar.", "Pon las bayas en una olla y cúbrelas con azúcar.",
          "Положите ягоды в кастрюлю и засыпьте их сахаром."},
         {"Cook them on a low fire, stirring often, until the jam is thick.",
          "Cocínalas a fuego lento, removiendo a menudo, hasta que la mermelada espese.",
          "Варите на слабом огне, часто помешивая, пока варенье не загустеет."},
         {"Pour the hot jam into clean jars and close them.", "Vierte la mermelada caliente en frascos limpios y ciérralos.",
          "Разлейте горячее варенье по чистым банкам и закройте их."}}}},
      {{"potato omelette", "la tortilla de patata", "картофельный омлет"}, "картофельный омлет",
       {{{"Peel four potatoes and cut them into thin slices.", "Pela cuatro patatas y córtalas en rodajas finas.",
          "Очистите четыре картофелины и нарежьте их тонкими ломтиками."},
         {"Fry the potatoes slowly in oil with a chopped onion.", "Fríe las patatas despacio en aceite con una cebolla picada.",
          "Медленно обжарьте картофель в масле с нарезанным луком."},
         {"Beat six eggs with salt and mix in the potatoes.", "Bate seis huevos con sal y mézclalos con las patatas.",
          "Взбейте шесть яиц с солью и смешайте с картофелем."},
         {"Cook the mixture in a pan, turn it over with a plate and cook the other side.",
          "Cuaja la mezcla en una sartén, dale la vuelta con un plato y cocina el otro lado.",
          "Жарьте смесь на сковороде, переверните её с помощью тарелки и обжарьте другую сторону."}}}},
      {{"rye bread", "el pan de centeno", "ржаной хлеб"}, "ржаной хлеб",
       {{{"Mix rye flour, warm water, yeast and a little salt.",
          "Mezcla harina de centeno, agua tibia, levadura y un poco de sal.",
          "Смешайте ржаную муку, тёплую воду, дрожжи и немного соли."},
         {"Knead the dough and leave it in a warm place for two hours.",
          "Amasa la masa y déjala en un lugar cálido durante dos horas.",
          "Замесите тесто и оставьте его в тёплом месте на два часа."},
         {"Shape a round loaf and put it on a tray.", "Forma una hogaza redonda y ponla en una bandeja.",
          "Сформируйте круглый каравай и положите его на противень."},
         {"Bake the bread for one hour, then let it cool before cutting.",
          "Hornea el pan durante una hora y déjalo enfriar antes de cortarlo.",
          "Выпекайте хлеб час, а потом дайте ему остыть перед нарезкой."}}}},
  };
  return v;
}

const std::vector<Thing>& things() {
  static const std::vector<Thing> v = {
      {{"a red basket", "una cesta roja", "красную корзину"}},
      {{"an old map", "un mapa viejo", "старую карту"}},
      {{"a silver key", "una llave de plata", "серебряный ключ"}},
      {{"a wooden flute", "una flauta de madera", "деревянную флейту"}},
      {{"a blue scarf", "una bufanda azul", "синий шарф"}},
      {{"a small lantern", "una linterna pequeña", "маленький фонарь"}},
      {{"a book of songs", "un libro de canciones", "книгу песен"}},
      {{"a pair of warm boots", "unas botas calientes", "пару тёплых сапог"}},
  };
  return v;
}

World make_world(uint64_t seed) {
  Rng rng(seed ^ 0x776f726c64ULL);   // "world": its own stream, apart from the corpus draws
  World w;
  const size_t n = people().size();
  for (size_t p = 0; p < n; ++p) {
    Resident r{p, rng.below(towns().size()), rng.below(occupations().size()), rng.below(pets().size()),
               rng.below(dishes().size()), 0};
    r.friend_ = (p + 1 + rng.below(n - 1)) % n;   // anyone but themselves
    w.residents.push_back(r);
  }
  return w;
}

void add_town(Slots& s, const std::string& key, size_t town, Lang lang) {
  const Town& t = towns()[town];
  const char* name = lang == Lang::En ? t.en : lang == Lang::Es ? t.es : t.ru[0];
  s.set(key, name);
  s.set(key + ".gen", lang == Lang::Ru ? t.ru[1] : name);
  s.set(key + ".prep", lang == Lang::Ru ? t.ru[2] : name);
  s.set(key + ".acc", lang == Lang::Ru ? t.ru[3] : name);
  s.set(key + ".desc", t.description.in(lang));
}

void add_resident(Slots& s, const std::string& key, const World& w, size_t resident, Lang lang) {
  const Resident& r = w.residents[resident];
  const Person& p = people()[r.person];
  const char* name = lang == Lang::En ? p.en : lang == Lang::Es ? p.es : p.ru[0];
  s.set(key, name);
  const char* cases[] = {".gen", ".dat", ".acc", ".ins"};
  for (int c = 0; c < 4; ++c) s.set(key + cases[c], lang == Lang::Ru ? p.ru[c + 1] : name);
  s.feminine[key] = p.feminine;
  const Occupation& o = occupations()[r.occupation];
  s.set(key + ".occ", lang == Lang::En ? o.en : lang == Lang::Es ? o.es[p.feminine] : o.ru[p.feminine]);
  const Pet& pet = pets()[r.pet];
  s.set(key + ".pet", pet.phrase.in(lang));
  s.set(key + ".pet_acc", lang == Lang::Ru ? pet.ru_acc : pet.phrase.in(lang));
  s.set(key + ".petnoun", pet.noun.in(lang));
  const Dish& d = dishes()[r.dish];
  s.set(key + ".dish", d.name.in(lang));
  s.set(key + ".dish_acc", lang == Lang::Ru ? d.ru_acc : d.name.in(lang));
  add_town(s, key + "T", r.home, lang);
}

}  // namespace qlab::synthetic
