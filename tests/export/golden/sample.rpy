define c_Ash = Character("Ash")
define c_Brenna = Character("Brenna")

label start:
    c_Brenna "Back again?"  # id L1_032ce9ff468c
    c_Ash "I need a blade."  # id L1_f5104b617577
    $ swipe_pick = renpy.random.randint(0, 2)
    if swipe_pick == 0:
        c_Brenna "Coin first."  # id L1_be8786901f1d
    elif swipe_pick == 1:
        c_Brenna "What kind?"  # id L1_be8786901f1d_1
    elif swipe_pick == 2:
        c_Brenna "Sit down."  # id L1_be8786901f1d_2
    menu:
        "Double pay.":  # id L1_46cd7839ddd1
            jump L1_46cd7839ddd1
        "Ask about the bandits.":  # id L1_4a61314a8ac7
            jump L1_4a61314a8ac7

label L1_46cd7839ddd1:
    c_Brenna "Sundown, then."  # id L1_04e2fbdce914; emotion pleased; action nods
    return

label L1_4a61314a8ac7:
    c_Brenna "Not in my shop."  # id L1_ae02a3f39c87; emotion wary; action cross_arms
    return
