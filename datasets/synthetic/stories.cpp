// Stories and profiles: an opening, two or three events in order, an ending,
// filled with one resident (A), their friend (B), their towns and a thing (O).
// 5 openings x 9 events (sets of 2-3) x 4 endings x 20 residents x
// 8 things per language: far more combinations than the corpus draws.
#include <algorithm>

#include "datasets/synthetic/corpus.h"

namespace qlab::synthetic {

namespace {

const std::vector<Tri>& openings() {
  static const std::vector<Tri> v = {
      {"One sunny morning, {A}, {A.occ} from {AT}, woke up early.",
       "Una mañana soleada, {A}, {A:un|una} {A.occ} de {AT}, se despertó temprano.",
       "Однажды солнечным утром {A}, котор{A:ый|ая} работает {A.occ} в {AT.prep}, проснул{A:ся|ась} рано."},
      {"{A} lives in {AT} and works as {A.occ}.", "{A} vive en {AT} y trabaja de {A.occ}.",
       "{A} живёт в {AT.prep} и работает {A.occ}."},
      {"Everyone in {AT} knows {A}, who keeps {A.pet}.", "En {AT} todos conocen a {A}, que tiene {A.pet}.",
       "В {AT.prep} все знают {A.acc}: у {A:него|неё} есть {A.pet}."},
      {"It was a cold day in {AT}, and {A} wanted to see {B}.", "Era un día frío en {AT}, y {A} quería ver a {B}.",
       "В {AT.prep} был холодный день, и {A} хотел{A:|а} увидеть {B.acc}."},
      {"On Saturday, {A} went out for a long walk with {A:his|her} {A.petnoun}.",
       "El sábado, {A} salió a dar un largo paseo con {A.petnoun}.",
       "В субботу {A} пош{A:ёл|ла} на долгую прогулку со своим питомцем."},
  };
  return v;
}

const std::vector<Tri>& events() {
  static const std::vector<Tri> v = {
      {"{A:He|She} packed some {A.dish} and walked to {BT} to visit {B}.",
       "Preparó {A.dish} y caminó hasta {BT} para visitar a {B}.",
       "{A:Он|Она} приготовил{A:|а} {A.dish_acc} и пош{A:ёл|ла} в {BT.acc} к {B.dat}."},
      {"On the way, {A:he|she} found {O} under a tree.", "Por el camino encontró {O} debajo de un árbol.",
       "По дороге {A:он нашёл|она нашла} {O} под деревом."},
      {"{B} was glad to see {A:him|her}, and they talked for a long time.",
       "{B} se alegró de ver a {A}, y hablaron durante mucho tiempo.",
       "{B} обрадовал{B:ся|ась} {A.dat}, и они долго разговаривали."},
      {"Then it began to rain, so they waited under the roof of the old mill.",
       "Después empezó a llover, así que esperaron bajo el techo del viejo molino.",
       "Потом пошёл дождь, и они переждали его под крышей старой мельницы."},
      {"{A} and {B} cooked dinner together and sang old songs.",
       "{A} y {B} prepararon la cena y cantaron canciones antiguas.",
       "{A} и {B} вместе приготовили ужин и пели старые песни."},
      {"At the market, {A} bought apples, cheese and a loaf of bread.",
       "En el mercado, {A} compró manzanas, queso y una barra de pan.",
       "На рынке {A} купил{A:|а} яблоки, сыр и буханку хлеба."},
      {"{A} showed {O} to the children at the school, and they asked many questions.",
       "{A} enseñó {O} a los niños de la escuela, y ellos hicieron muchas preguntas.",
       "{A} показал{A:|а} {O} детям в школе, и они задали много вопросов."},
      {"{A:His|Her} {A.petnoun} ran after a butterfly, and {A} laughed.",
       "Mientras tanto, {A.petnoun} de {A} corrió detrás de una mariposa, y {A} se rió.",
       "Питомец {A.gen} погнался за бабочкой, и {A} засмеял{A:ся|ась}."},
      {"{B} told {A:him|her} about {BT}, which is {BT.desc}.", "{B} le habló de {BT}, que es {BT.desc}.",
       "{B} рассказал{B:|а} о {BT.prep}: это {BT.desc}."},
  };
  return v;
}

const std::vector<Tri>& endings() {
  static const std::vector<Tri> v = {
      {"In the evening, {A} went back home to {AT}, tired but happy.",
       "Por la tarde, {A} volvió a casa, a {AT}, cansad{A:o|a} pero feliz.",
       "Вечером {A} вернул{A:ся|ась} домой в {AT.acc}, уставш{A:ий|ая}, но счастлив{A:ый|ая}."},
      {"That night, {A} wrote about the day in a small notebook.",
       "Esa noche, {A} escribió sobre el día en un cuaderno pequeño.",
       "В тот вечер {A} описал{A:|а} этот день в маленьком блокноте."},
      {"It was a good day, and {A} promised to visit {B} again soon.",
       "Fue un buen día, y {A} prometió visitar a {B} otra vez pronto.",
       "День был хороший, и {A} пообещал{A:|а} скоро снова навестить {B.acc}."},
      {"When the sun set over {AT}, {A} smiled and went to sleep.",
       "Cuando el sol se puso sobre {AT}, {A} sonrió y se fue a dormir.",
       "Когда над деревней село солнце, {A} улыбнул{A:ся|ась} и лёг{A:|ла} спать."},
  };
  return v;
}

const std::vector<Tri>& profiles() {
  static const std::vector<Tri> v = {
      {"{A} lives in {AT}, {AT.desc}. {A:He|She} works as {A.occ} and has {A.pet}. {A:His|Her} favorite food is "
       "{A.dish}, and {A:his|her} best friend is {B}, who lives in {BT}.",
       "{A} vive en {AT}, {AT.desc}. Trabaja de {A.occ} y tiene {A.pet}. Su comida favorita es {A.dish}, y "
       "{B:su mejor amigo|su mejor amiga} es {B}, que vive en {BT}.",
       "{A} живёт в {AT.prep}. {AT} — {AT.desc}. {A} работает {A.occ}, у {A:него|неё} есть {A.pet}. Любимое блюдо "
       "{A.gen} — {A.dish}, а {B:лучший друг|лучшая подруга} {A.gen} — {B}, котор{B:ый|ая} живёт в {BT.prep}."},
      {"This is {A}. {A:He|She} is {A.occ} in {AT}. At home {A} keeps {A.pet}. When {A} cooks for friends, it is "
       "usually {A.dish}. {A} spends most free days with {B}.",
       "Esta es la historia de {A}, {A:un|una} {A.occ} de {AT}. En casa tiene {A.pet}. Cuando cocina para sus "
       "amigos, casi siempre prepara {A.dish}. Pasa sus días libres con {B}.",
       "Познакомьтесь: это {A}. {A:Он|Она} работает {A.occ} в {AT.prep}. Дома у {A:него|неё} живёт {A.pet}. "
       "Для друзей {A} обычно готовит {A.dish_acc}. Выходные {A} проводит с {B.ins}."},
  };
  return v;
}

// The resident's slots plus their friend's (B, BT).
Slots resident_slots(const World& w, size_t a, Lang lang) {
  Slots s;
  add_resident(s, "A", w, a, lang);
  add_resident(s, "B", w, w.residents[a].friend_, lang);
  return s;
}

}  // namespace

Document draw_story(const World& w, Lang lang, Rng& rng) {
  Slots s = resident_slots(w, rng.below(w.residents.size()), lang);
  s.set("O", things()[rng.below(things().size())].phrase.in(lang));
  std::string text = render(rng.pick(openings()).in(lang), s);
  // Two or three different events, told in table order (the table is in
  // the order things happen on a day out).
  std::vector<size_t> order(events().size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  size_t n_events = 2 + rng.below(2);
  for (size_t i = 0; i < n_events; ++i) std::swap(order[i], order[i + rng.below(order.size() - i)]);
  std::sort(order.begin(), order.begin() + n_events);
  for (size_t i = 0; i < n_events; ++i) text += " " + render(events()[order[i]].in(lang), s);
  text += " " + render(rng.pick(endings()).in(lang), s);
  return {lang, text};
}

Document draw_profile(const World& w, Lang lang, Rng& rng) {
  Slots s = resident_slots(w, rng.below(w.residents.size()), lang);
  return {lang, render(rng.pick(profiles()).in(lang), s)};
}

}  // namespace qlab::synthetic
