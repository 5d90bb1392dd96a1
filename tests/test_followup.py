from assistant.answer.followup import is_follow_up, standalone_question

TOPIC_EN = "What are Iran and the United States discussing about Afghanistan?"
TOPIC_AR = "ما الذي تناقشه إيران والولايات المتحدة بشأن أفغانستان؟"


def test_standalone_questions_are_left_alone() -> None:
    assert standalone_question(TOPIC_EN, []) == TOPIC_EN
    assert standalone_question("Who is Zalmay Khalilzad and what did he say?", []) .startswith("Who is")
    assert not is_follow_up("How many foreign troops are in Afghanistan?")
    assert not is_follow_up("كم عدد القوات الأجنبية في أفغانستان؟")
    assert not is_follow_up("واشنطن تعارض المحادثات؟ ماذا قالت وزارة الخارجية الأمريكية؟")


def test_follow_ups_take_the_topic_of_the_last_standalone_question() -> None:
    hist = [TOPIC_EN]
    assert standalone_question("and what does Iran want?", hist) == f"and what does Iran want? {TOPIC_EN}"
    assert standalone_question("What about the Taliban?", hist).endswith(TOPIC_EN)
    assert standalone_question("Why?", hist).endswith(TOPIC_EN)
    ar = [TOPIC_AR]
    assert standalone_question("وماذا تريد إيران؟", ar) == f"وماذا تريد إيران؟ {TOPIC_AR}"
    assert standalone_question("ماذا قال عنها؟", ar).endswith(TOPIC_AR)


def test_a_chain_of_follow_ups_stays_anchored() -> None:
    hist = [TOPIC_EN, "and what does Iran want?"]
    assert standalone_question("and the Taliban?", hist) == f"and the Taliban? {TOPIC_EN}"
