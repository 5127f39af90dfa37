"""Pieces of rule files that many tests share: the same small county, written once."""

from __future__ import annotations

CASUALTIES = """\
keywords:
  伤亡: [死亡, 身亡, 遇难]
"""
GAS_EXPLOSION = """\
  - id: gas-explosion
    title: 燃气爆炸致人员伤亡
    category: 燃气安全
    level: red
    when:
      all: [爆炸, 伤亡]
"""
PETITION = """\
  - id: petition
    title: 群众上访
    category: 信访
    level: blue
    when:
      all: [上访]
"""
GAS_RULES = CASUALTIES + "rules:\n" + GAS_EXPLOSION  # one red rule: a gas explosion with casualties
