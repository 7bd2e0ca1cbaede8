// Questions about the world and everyday instructions (recipes, directions on
// the valley's map, counting, sums), each with its helpful answer, in every
// language.
#include <cstdlib>

#include "datasets/synthetic/corpus.h"

namespace qlab::synthetic {

namespace {

// A question type: its phrasings and the one answer, about resident A (with
// friend B) or, when about_town, about town T.
struct FactType {
  std::vector<Tri> questions;
  Tri answer;
  bool about_town = false;
};

const std::vector<FactType>& fact_types() {
  static const std::vector<FactType> v = {
      {{{"Where does {A} live?", "¿Dónde vive {A}?", "Где живёт {A}?"},
        {"In which town does {A} live?", "¿En qué pueblo vive {A}?", "В каком городе или деревне живёт {A}?"}},
       {"{A} lives in {AT}.", "{A} vive en {AT}.", "{A} живёт в {AT.prep}."}},
      {{{"What does {A} do for a living?", "¿En qué trabaja {A}?", "Кем работает {A}?"},
        {"What is {A}'s job?", "¿Cuál es el oficio de {A}?", "Какая профессия у {A.gen}?"}},
       {"{A} works as {A.occ}.", "{A} trabaja de {A.occ}.", "{A} работает {A.occ}."}},
      {{{"What pet does {A} have?", "¿Qué mascota tiene {A}?", "Какой питомец есть у {A.gen}?"},
        {"Which animal does {A} keep at home?", "¿Qué animal tiene {A} en casa?", "Какое животное живёт у {A.gen} дома?"}},
       {"{A} has {A.pet}.", "{A} tiene {A.pet}.", "У {A.gen} есть {A.pet}."}},
      {{{"What is {A}'s favorite food?", "¿Cuál es la comida favorita de {A}?", "Какое любимое блюдо у {A.gen}?"},
        {"What does {A} like to eat most?", "¿Qué es lo que más le gusta comer a {A}?", "Что {A} любит есть больше всего?"}},
       {"{A}'s favorite food is {A.dish}.", "La comida favorita de {A} es {A.dish}.", "Любимое блюдо {A.gen} — {A.dish}."}},
      {{{"Who is {A}'s best friend?", "¿Con quién pasa {A} sus días libres?", "С кем дружит {A}?"},
        {"Who does {A} spend free days with?", "¿Quién es la persona más cercana a {A}?", "С кем {A} проводит выходные?"}},
       {"{A}'s best friend is {B}, who lives in {BT}.", "{A} pasa sus días libres con {B}, que vive en {BT}.",
        "{A} дружит с {B.ins}, котор{B:ый|ая} живёт в {BT.prep}."}},
      {{{"What is {T} like?", "¿Cómo es {T}?", "Что ты знаешь о {T.prep}?"},
        {"Tell me about {T}.", "Háblame de {T}.", "Расскажи о {T.prep}."}},
       {"{T} is {T.desc}.", "{T} es {T.desc}.", "{T} — {T.desc}."},
       true},
  };
  return v;
}



Request recipe(Lang lang, Rng& rng) {
  static const std::vector<Tri> asks = {
      {"How do I make {D}?", "¿Cómo se prepara {D}?", "Как приготовить {D.acc}?"},
      {"Give me a recipe for {D}.", "Dame una receta para {D}.", "Расскажи рецепт: как сделать {D.acc}?"},
      {"What are the steps to cook {D}?", "¿Qué pasos hay que seguir para cocinar {D}?", "Как по шагам готовить {D.acc}?"}};
  static const Tri intro = {"Here is how to make {D}:", "Así se prepara {D}:", "Вот как приготовить {D.acc}:"};
  static const Tri outro = {"Enjoy your meal!", "¡Buen provecho!", "Приятного аппетита!"};
  const Dish& dish = dishes()[rng.below(dishes().size())];
  Slots s;
  s.set("D", dish.name.in(lang));
  s.set("D.acc", lang == Lang::Ru ? dish.ru_acc : dish.name.in(lang));
  std::string prompt = render(rng.pick(asks).in(lang), s);
  std::string answer = render(intro.in(lang), s);
  for (size_t i = 0; i < dish.steps.size(); ++i) answer += "\n" + std::to_string(i + 1) + ". " + dish.steps[i].in(lang);
  answer += "\n" + std::string(outro.in(lang));
  return {lang, Kind::Instruction, prompt, answer, ""};
}

// One leg of a walk: "6 km east".
std::string leg(Lang lang, int km, bool east_west, bool positive) {
  static const Tri dirs[2][2] = {{{"south", "hacia el sur", "на юг"}, {"north", "hacia el norte", "на север"}},
                                 {{"west", "hacia el oeste", "на запад"}, {"east", "hacia el este", "на восток"}}};
  return std::to_string(km) + (lang == Lang::Ru ? " км " : " km ") + dirs[east_west][positive].in(lang);
}

Request directions(Lang lang, Rng& rng) {
  static const std::vector<Tri> asks = {
      {"How do I get from {F} to {T}?", "¿Cómo llego de {F} a {T}?", "Как добраться из {F.gen} в {T.acc}?"},
      {"What is the way from {F} to {T}?", "¿Cuál es el camino de {F} a {T}?", "Как пройти из {F.gen} в {T.acc}?"}};
  static const Tri start = {"From {F}, walk ", "Desde {F}, camina ", "Из {F.gen} пройдите "};
  static const Tri then = {", then ", ", luego ", ", затем "};
  static const Tri arrive = {", and you will reach {T}. The walk is {N} km in total.",
                             ", y llegarás a {T}. En total son {N} km.", ", и вы придёте в {T.acc}. Всего {N} км."};
  size_t from = rng.below(towns().size());
  size_t to = (from + 1 + rng.below(towns().size() - 1)) % towns().size();
  Slots s;
  add_town(s, "F", from, lang);
  add_town(s, "T", to, lang);
  int dx = towns()[to].x - towns()[from].x, dy = towns()[to].y - towns()[from].y;
  s.set("N", std::to_string(std::abs(dx) + std::abs(dy)));
  std::vector<std::string> legs;
  if (dx != 0) legs.push_back(leg(lang, std::abs(dx), true, dx > 0));
  if (dy != 0) legs.push_back(leg(lang, std::abs(dy), false, dy > 0));
  std::string answer = render(start.in(lang), s) + legs[0];
  if (legs.size() > 1) answer += then.in(lang) + legs[1];
  answer += render(arrive.in(lang), s);
  return {lang, Kind::Instruction, render(rng.pick(asks).in(lang), s), answer, ""};
}

Request counting(Lang lang, Rng& rng) {
  static const std::vector<Tri> asks = {
      {"Count from {S} to {E}.", "Cuenta de {S} a {E}.", "Посчитай от {S} до {E}."},
      {"Please count from {S} up to {E}.", "Por favor, cuenta desde {S} hasta {E}.",
       "Пожалуйста, посчитай по порядку от {S} до {E}."}};
  static const Tri intro = {"Here are the numbers from {S} to {E}: ", "Estos son los números del {S} al {E}: ",
                            "Вот числа от {S} до {E}: "};
  int first = 1 + static_cast<int>(rng.below(20));
  int last = first + 3 + static_cast<int>(rng.below(5));
  Slots s;
  s.set("S", std::to_string(first));
  s.set("E", std::to_string(last));
  std::string answer = render(intro.in(lang), s);
  for (int i = first; i <= last; ++i) answer += std::to_string(i) + (i < last ? ", " : ".");
  return {lang, Kind::Instruction, render(rng.pick(asks).in(lang), s), answer, ""};
}

// Russian nouns after a number: 1 (21, 31...) яблоко, 2-4 яблока, else яблок.
const char* russian_count_form(int n, const std::array<const char*, 3>& forms) {
  int tens = n % 100, units = n % 10;
  if (tens >= 11 && tens <= 14) return forms[2];
  return units == 1 ? forms[0] : units >= 2 && units <= 4 ? forms[1] : forms[2];
}

Request sum(const World& w, Lang lang, Rng& rng) {
  struct Fruit {
    Tri plural;                        // English and Spanish plurals; Russian: the form after "сколько"
    std::array<const char*, 3> ru;     // one, few, many
  };
  static const std::vector<Fruit> fruits = {{{"apples", "manzanas", "яблок"}, {"яблоко", "яблока", "яблок"}},
                                            {{"pears", "peras", "груш"}, {"груша", "груши", "груш"}}};
  static const Tri ask = {
      "{A} has {N} {X} and buys {M} more at the market. How many {X} does {A} have now?",
      "{A} tiene {N} {X} y compra {M} más en el mercado. ¿Cuántas {X} tiene {A} ahora?",
      "У {A.gen} есть {N} {XN}, и на рынке {A:он|она} покупает ещё {M}. Сколько {X} теперь у {A.gen}?"};
  static const Tri reply = {"{A} now has {N} + {M} = {S} {X}.", "Ahora {A} tiene {N} + {M} = {S} {X}.",
                            "Теперь у {A.gen} {N} + {M} = {S} {XS}."};
  Slots s;
  add_resident(s, "A", w, rng.below(w.residents.size()), lang);
  const Fruit& f = rng.pick(fruits);
  int n = 2 + static_cast<int>(rng.below(8)), m = 2 + static_cast<int>(rng.below(8));
  s.set("N", std::to_string(n));
  s.set("M", std::to_string(m));
  s.set("S", std::to_string(n + m));
  s.set("X", f.plural.in(lang));
  s.set("XN", russian_count_form(n, f.ru));
  s.set("XS", russian_count_form(n + m, f.ru));
  return {lang, Kind::Instruction, render(ask.in(lang), s), render(reply.in(lang), s), ""};
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Fact: return "fact";
    case Kind::Instruction: return "instruction";
    case Kind::Harmful: return "harmful";
    case Kind::LookAlike: return "lookalike";
  }
  return "";
}

bool held_out(std::string_view text, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL;   // FNV-1a over the bytes, then mixed with the seed
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h ^ mix64(seed)) % 5 == 0;
}

Request draw_fact(const World& w, Lang lang, Rng& rng) {
  const FactType& type = rng.pick(fact_types());
  Slots s;
  if (type.about_town) {
    add_town(s, "T", rng.below(towns().size()), lang);
  } else {
    size_t a = rng.below(w.residents.size());
    add_resident(s, "A", w, a, lang);
    add_resident(s, "B", w, w.residents[a].friend_, lang);
  }
  std::string prompt = render(rng.pick(type.questions).in(lang), s);
  return {lang, Kind::Fact, prompt, render(type.answer.in(lang), s), ""};
}

Request draw_instruction(const World& w, Lang lang, Rng& rng) {
  switch (rng.below(4)) {
    case 0: return recipe(lang, rng);
    case 1: return directions(lang, rng);
    case 2: return counting(lang, rng);
    default: return sum(w, lang, rng);
  }
}

Request draw_request(const World& w, Kind kind, Lang lang, Rng& rng) {
  switch (kind) {
    case Kind::Fact: return draw_fact(w, lang, rng);
    case Kind::Instruction: return draw_instruction(w, lang, rng);
    case Kind::Harmful: return draw_harmful(w, rng);
    case Kind::LookAlike: return draw_lookalike(w, rng);
  }
  return draw_fact(w, lang, rng);
}

std::string question_answer_text(const Request& r) {
  static const Tri q = {"Question: ", "Pregunta: ", "Вопрос: "}, a = {"Answer: ", "Respuesta: ", "Ответ: "};
  return q.in(r.lang) + r.prompt + "\n" + a.in(r.lang) + r.answer;
}

}  // namespace qlab::synthetic
