# Insurance: a property-and-casualty and life insurer's policy administration desk.
domain insurance
about insurance policy administration: agents, products, policyholders, policies, premium payments, claims and adjusters, quotes, insured vehicles and properties
brand Bastion Mutual | Cornerstone Assurance | Lighthouse Insurance Group | Redwood Indemnity | Tri-County Farm & Home

table agents agent core rows 5-10 create
  label full_name person
  col email email
  col phone phone opt edit
  col license_number code(AGT)
  col region enum(northeast,southeast,midwest,southwest,west)
  col commission_percent int(5,15) opt edit
  status status active:8 suspended:1 terminated:1
  action suspend "suspend {it}" active -> suspended
  action reinstate "reinstate {it}" suspended -> active
  action terminate "terminate {it}" active,suspended -> terminated

table policy_products product core rows 4-8 create
  label name pick(Auto Standard|Auto Plus|Homeowners Basic|Homeowners Premier|Renters Essentials|Condo Cover|Term Life 20|Whole Life Classic|Umbrella Liability|Pet Care|Travel Shield|Landlord Protect|Motorcycle Cover)
  col line enum(auto,home,renters,life,umbrella,pet,travel)
  col base_premium money(15,300) edit
  col max_coverage money(10000,1000000) opt
  status status on_sale:6 withdrawn:1
  action withdraw "withdraw {it} from sale" on_sale -> withdrawn
  action relaunch "put {it} back on sale" withdrawn -> on_sale

table policyholders policyholder core rows 16-28 create
  label full_name person
  col email email
  col phone phone opt edit
  col city city opt edit
  col risk_tier enum(preferred,standard,high_risk) edit
  col paperless bool opt edit
  ref agent_id agents opt
  status status active:9 inactive:1
  action deactivate "deactivate {it}" active -> inactive
  action reactivate "reactivate {it}" inactive -> active

table policies policy core rows 18-34 create
  label policy_number code(POL)
  ref policyholder_id policyholders
  ref product_id policy_products
  ref agent_id agents opt
  col annual_premium money(300,4000) edit
  col remaining_coverage money(2000,60000)
  col deductible money(250,2500) opt edit
  col payment_frequency enum(monthly,quarterly,annual) edit
  col effective_on pastdate(365)
  col renews_on futuredate(365) opt
  status status pending:2 active:8 lapsed:1 cancelled:1
  action activate "activate {it}" pending -> active
  action lapse "mark {it} as lapsed for non-payment" active -> lapsed
  action reinstate "reinstate {it}" lapsed -> active
  action cancel "cancel {it}" pending,active,lapsed -> cancelled

table adjusters adjuster rows 4-8 create
  label full_name person
  col email email
  col specialty enum(auto,property,life,liability,catastrophe)
  col open_caseload int(0,25) opt edit
  status status available:6 on_leave:1
  action place_on_leave "place {it} on leave" available -> on_leave
  action return_from_leave "bring {it} back from leave" on_leave -> available

table claims claim core rows 12-24 create
  label claim_number code(CLM)
  ref policy_id policies consumes remaining_coverage by amount_claimed
  ref adjuster_id adjusters opt
  col amount_claimed money(200,15000)
  col incident_type enum(collision,theft,water_damage,fire,storm_damage,liability,medical,vandalism)
  col incident_date pastdate(90)
  col description pick(Rear-ended at a stop light|Burst pipe in the kitchen|Hail damage to the roof|Bicycle stolen from the garage|Tree fell on the fence|Slip and fall on the driveway|Windshield cracked on the highway|Kitchen fire|Basement flooded after heavy rain|Break-in through the back door) opt
  status status submitted:3 under_review:3 approved:3 denied:1 paid:3
  action review "start reviewing {it}" submitted -> under_review
  action approve "approve {it}" under_review -> approved
  action deny "deny {it}" submitted,under_review -> denied
  action pay "pay out {it}" approved -> paid

table premium_payments premium_payment core rows 16-32 create
  label receipt_number code(PRM)
  ref policy_id policies
  col amount money(25,1200)
  col method enum(ach,card,check,cash)
  col paid_on pastdate(180)
  status status received:7 bounced:1 refunded:1
  action mark_bounced "mark {it} as bounced" received -> bounced
  action refund "refund {it}" received -> refunded

table beneficiaries beneficiary rows 4-10 create delete
  label full_name person
  ref policy_id policies
  col relationship enum(spouse,child,parent,sibling,partner,trust)
  col share_percent int(10,100) edit
  col phone phone opt edit

table insured_vehicles vehicle rows 5-12 create delete
  label vin code(VIN)
  ref policy_id policies
  col make_model pick(Toyota Camry|Honda Civic|Ford F-150|Chevrolet Equinox|Subaru Outback|Tesla Model 3|Nissan Rogue|Jeep Wrangler|Hyundai Tucson|Mazda CX-5)
  col model_year int(2008,2025)
  col annual_mileage int(4000,20000) opt edit
  col garaged_overnight bool opt edit

table insured_properties insured_property rows 4-10 create delete
  label address street
  ref policy_id policies
  col city city
  col property_type enum(single_family,condo,townhouse,rental_unit,mobile_home)
  col year_built int(1950,2022)
  col dwelling_value money(150000,900000) opt edit
  col has_alarm_system bool opt edit

table quotes quote rows 4-10 create
  label quote_number code(QTE)
  ref policyholder_id policyholders
  ref product_id policy_products
  col quoted_premium money(300,4000)
  col valid_until futuredate(30)
  status status open:4 accepted:2 declined:1 expired:1
  action accept "accept {it}" open -> accepted
  action decline "decline {it}" open -> declined
  action expire "mark {it} as expired" open -> expired
