// The testbed's small world: people, towns on a map, occupations, pets,
// dishes and things, each spelled in every language with the grammatical
// forms the templates need (Spanish gender, Russian cases), and, drawn from
// the seed, who lives where, does what, keeps which pet, likes which dish and
// is whose friend. Everything here was written for qlab.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/synthetic/template.h"

namespace qlab::synthetic {

enum class Lang { En, Es, Ru };
inline constexpr std::array<Lang, 3> kLangs = {Lang::En, Lang::Es, Lang::Ru};
const char* language_code(Lang lang);   // ISO 639-1: en, es, ru

// One text per language, the table entries of every lexicon and template.
struct Tri {
  const char* en;
  const char* es;
  const char* ru;
  const char* in(Lang l) const { return l == Lang::En ? en : l == Lang::Es ? es : ru; }
};

struct Person {
  const char* en;
  const char* es;
  std::array<const char*, 5> ru;   // nominative, genitive, dative, accusative, instrumental
  bool feminine;
};

struct Town {
  const char* en;
  const char* es;
  std::array<const char*, 4> ru;   // nominative, genitive, prepositional, accusative
  Tri description;                 // "a quiet village among old oak trees"
  int x, y;                        // km on the valley's map (east, north)
};

struct Occupation {
  const char* en;                  // with article: "a baker"
  std::array<const char*, 2> es;   // masculine, feminine: "panadero", "panadera"
  std::array<const char*, 2> ru;   // instrumental masculine, feminine: "пекарем"
};

struct Pet {
  Tri phrase;                      // "a gray cat" / "un gato gris" / "серый кот"
  const char* ru_acc;              // "серого кота"
  Tri noun;                        // "cat" / "el gato" / "кот"
};

struct Dish {
  Tri name;                        // "apple pie" / "la tarta de manzana" / "яблочный пирог"
  const char* ru_acc;              // "яблочный пирог"
  std::array<Tri, 4> steps;        // a recipe anybody can follow
};

struct Thing {
  Tri phrase;                      // "a red basket" / "una cesta roja" / "красную корзину" (accusative)
};

const std::vector<Person>& people();
const std::vector<Town>& towns();
const std::vector<Occupation>& occupations();
const std::vector<Pet>& pets();
const std::vector<Dish>& dishes();
const std::vector<Thing>& things();

// The facts of one person, as indices into the tables above.
struct Resident {
  size_t person, home, occupation, pet, dish, friend_;
};

struct World {
  std::vector<Resident> residents;   // one per person, in table order
};

// The same seed gives the same world.
World make_world(uint64_t seed);

// Slots `key` ("A"), key.gen/.dat/.acc/.ins (Russian cases; the name itself
// in English and Spanish), key.occ, key.pet, key.pet_acc, key.petnoun,
// key.dish, key.dish_acc, the gender of `key`, and the home town under
// key + "T" (see add_town).
void add_resident(Slots& s, const std::string& key, const World& w, size_t resident, Lang lang);
// Slots `key`, key.gen/.prep/.acc (Russian cases; the name elsewhere) and key.desc.
void add_town(Slots& s, const std::string& key, size_t town, Lang lang);

}  // namespace qlab::synthetic
