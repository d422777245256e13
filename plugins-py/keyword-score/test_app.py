"""Native unit tests of app.py's config parsing and scoring (no WebAssembly).

Needs the stub bindings on sys.path: `componentize-py -d ../../wit -w condition bindings DIR`
(test.sh does this), then `PYTHONPATH=DIR python3 -m unittest test_app`.
"""

import json
import unittest

import app


class Parse(unittest.TestCase):
    def problem(self, config):
        with self.assertRaises(app.ConfigProblem) as e:
            app.parse(config)
        return e.exception.path, e.exception.message

    def test_a_good_config(self):
        weighted, threshold = app.parse('{"keywords": {"Straße": 1, "ZWROT  towaru": 2.5}, "threshold": 0}')
        self.assertEqual(weighted, [("strasse", 1), ("zwrot towaru", 2.5)])
        self.assertEqual(threshold, 0)

    def test_bad_json(self):
        self.assertEqual(self.problem('{"keywords": ')[0], "")
        self.assertEqual(self.problem('{"keywords": {"a": NaN}, "threshold": 1}'), ("", "NaN is not valid JSON"))
        self.assertEqual(self.problem("[]"), ("", "expected an object, found array"))

    def test_missing_and_unknown_keys(self):
        self.assertEqual(self.problem('{"threshold": 1}'), ("keywords", "missing field `keywords`"))
        self.assertEqual(self.problem('{"keywords": {}}'), ("threshold", "missing field `threshold`"))
        path, message = self.problem('{"keywords": {}, "threshold": 1, "x": 1}')
        self.assertEqual(path, "x")
        self.assertIn("unknown field `x`", message)

    def test_weights_and_threshold_must_be_numbers(self):
        self.assertEqual(self.problem('{"keywords": {"a": true}, "threshold": 1}')[0], "keywords.a")
        self.assertEqual(self.problem('{"keywords": {"a": "1"}, "threshold": 1}')[0], "keywords.a")
        self.assertEqual(self.problem('{"keywords": [], "threshold": 1}')[0], "keywords")
        self.assertEqual(self.problem('{"keywords": {}, "threshold": null}')[0], "threshold")
        self.assertEqual(self.problem('{"keywords": {"a": 1}, "threshold": -0.5}')[0], "threshold")
        self.assertEqual(self.problem('{"keywords": {" ": 1}, "threshold": 1}')[0], "keywords. ")

    def test_the_schema_is_json(self):
        schema = json.loads(app.CONFIG_SCHEMA)
        self.assertEqual(schema["required"], ["keywords", "threshold"])


def score(config, *texts):
    weighted, _ = app.parse(config)
    return app.score(weighted, [t.casefold() for t in texts])


class Score(unittest.TestCase):
    def test_each_keyword_counts_once_in_any_text(self):
        config = '{"keywords": {"zwrot": 2, "PACZKA  uszkodzona": 1, "refund": 4}, "threshold": 3}'
        self.assertEqual(score(config, "ZWROT zwrot", "Paczka\n uszkodzona"), 3)
        self.assertEqual(score(config, "Paczka", "uszkodzona"), 0)

    def test_casefold_is_unicode_aware(self):
        config = '{"keywords": {"STRASSE": 1, "возврат": 1, "ZAMÓWIENIE": 1}, "threshold": 3}'
        self.assertEqual(score(config, "Straße, ВОЗВРАТ, zamówienie"), 3)

    def test_long_texts_fold_in_pieces_the_same(self):
        text = "ZAMÓWIENIE Straße ΣΊΣΥΦΟΣ ﬁ " * 5000
        self.assertGreater(len(text), app.FOLD_CHUNK)
        self.assertEqual(app.casefold(text), text.casefold())

    def test_regex_characters_are_literal(self):
        self.assertEqual(score('{"keywords": {"a.b (c)": 1}, "threshold": 1}', "axb c", "A.B  (C)"), 1)


if __name__ == "__main__":
    unittest.main()
