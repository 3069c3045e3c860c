-> Start

=== Start ===
Brenna: Back again? #id:L1_032ce9ff468c
Ash: I need a blade. #id:L1_f5104b617577
Brenna: {~Coin first.|What kind?|Sit down.} #id:L1_be8786901f1d
* [Double pay. #id:L1_46cd7839ddd1]
    -> L1_46cd7839ddd1
* [Ask about the bandits. #id:L1_4a61314a8ac7]
    -> L1_4a61314a8ac7

=== L1_46cd7839ddd1 ===
Brenna: Sundown, then. #id:L1_04e2fbdce914 #emotion:pleased #action:nods
-> END

=== L1_4a61314a8ac7 ===
Brenna: Not in my shop. #id:L1_ae02a3f39c87 #emotion:wary #action:cross_arms
-> END
