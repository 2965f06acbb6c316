# Pharmacy: a community pharmacy chain's dispensing and inventory desk.
domain pharmacy
about community pharmacy chain: stores, medications and stock, patients, prescribers, prescriptions, refills, insurance claims, wholesale orders and immunizations
brand Corner Apothecary | WellSpring Pharmacy | Bluebell Drug Co. | Hometown Rx | Crossroads Pharmacy

table pharmacies pharmacy core rows 3-6 create
  label name combo(Main Street|Riverside|Oak Hill|Harbor|Maple Avenue|Union Square|Westgate ; Pharmacy|Drug|Apothecary)
  col city city
  col phone phone opt edit
  col opening_hours pick(8am-8pm|9am-9pm|Open 24 hours|8am-10pm|9am-6pm) opt edit
  col drive_through bool opt
  status status open:5 temporarily_closed:1
  action close_temporarily "temporarily close {it}" open -> temporarily_closed
  action reopen "reopen {it}" temporarily_closed -> open

table insurers insurer core rows 4-7 create
  label name pick(Meridian Health Plan|BluePeak Insurance|Summit Rx Benefits|Evergreen Health|Northstar Medicare|Coastal Care Alliance|Liberty Health Partners|Pioneer Benefits|Keystone Health|Harborview Insurance|Unity Rx|Prairie Mutual)
  col reimbursement_percent int(60,95) edit
  col plan_type enum(commercial,medicare_part_d,medicaid,discount_card)
  col help_desk_phone phone opt edit
  status status contracted:6 out_of_network:1
  action drop_contract "mark {it} as out of network" contracted -> out_of_network
  action restore_contract "restore the contract with {it}" out_of_network -> contracted

table prescribers prescriber rows 5-12 create
  label full_name person
  col clinic pick(Riverside Family Clinic|Oak Hill Internal Medicine|Lakeview Pediatrics|Summit Urgent Care|Harbor OB-GYN Associates|Cedar Dermatology|Westgate Cardiology|Union Square Medical|Pine Ridge Orthopedics|Bayview Psychiatry)
  col npi code(NPI)
  col dea_number code(DEA) opt
  col fax phone opt edit
  status status active:8 license_suspended:1
  action suspend "flag {it} as having a suspended license" active -> license_suspended
  action reinstate "clear the license flag on {it}" license_suspended -> active

table wholesalers wholesaler rows 3-6 create
  label name pick(Apex Pharma Supply|BlueLine Medical Wholesale|Keystone Drug Distributors|Meridian Rx Supply|Northway Pharmaceutical|Summit Health Distributors|Pacific Drug Supply|Cardinal Point Distribution|Heartland Pharma Logistics)
  col account_code code(WH)
  col order_phone phone opt edit
  col delivery_days int(1,5) edit

table medications medication core rows 16-30 create
  label name pick(Amoxicillin 500 mg|Lisinopril 10 mg|Lisinopril 20 mg|Metformin 500 mg|Metformin 1000 mg|Atorvastatin 20 mg|Atorvastatin 40 mg|Levothyroxine 50 mcg|Levothyroxine 100 mcg|Amlodipine 5 mg|Amlodipine 10 mg|Omeprazole 20 mg|Sertraline 50 mg|Sertraline 100 mg|Albuterol HFA inhaler|Gabapentin 300 mg|Losartan 50 mg|Prednisone 10 mg|Azithromycin 250 mg|Escitalopram 10 mg|Montelukast 10 mg|Simvastatin 20 mg|Hydrochlorothiazide 25 mg|Metoprolol 25 mg|Pantoprazole 40 mg|Fluoxetine 20 mg|Cetirizine 10 mg|Citalopram 20 mg|Rosuvastatin 10 mg|Furosemide 40 mg|Clopidogrel 75 mg|Insulin glargine pen|Cephalexin 500 mg|Doxycycline 100 mg|Trazodone 50 mg|Meloxicam 15 mg|Bupropion XL 150 mg)
  col ndc code(NDC)
  col stock_units int(0,500)
  col unit_price money(1,12) edit
  col reorder_level int(20,100) opt edit
  col requires_refrigeration bool opt
  status status active:8 backordered:1 discontinued:1
  action mark_backordered "mark {it} as backordered" active -> backordered
  action restock "mark {it} as back in stock" backordered -> active
  action discontinue "discontinue {it}" active,backordered -> discontinued

table patients patient core rows 12-24 create
  label full_name person
  col phone phone
  col email email opt edit
  col date_of_birth pastdate(30000)
  col member_id code(MBR) opt
  col allergies pick(None known|Penicillin|Sulfa drugs|Aspirin|Codeine|Latex|Ibuprofen) opt edit
  col text_alerts bool opt edit
  ref insurer_id insurers opt
  status status active:9 inactive:1
  action deactivate "deactivate {it}" active -> inactive
  action reactivate "reactivate {it}" inactive -> active

table prescriptions prescription core rows 18-34 create
  label rx_number code(RX)
  ref patient_id patients
  ref medication_id medications consumes stock_units by quantity
  ref pharmacy_id pharmacies
  ref prescriber_id prescribers opt
  col quantity int(10,90)
  col directions pick(Take 1 tablet daily|Take 1 tablet twice daily|Take 1 capsule three times daily|Take 2 tablets at bedtime|Take with food once daily|Use as directed) opt
  col refills_remaining int(0,5) edit
  col written_on pastdate(120)
  status status received:3 ready:3 picked_up:6 on_hold:1 cancelled:1
  action mark_ready "mark {it} as ready for pickup" received -> ready
  action hold "put {it} on hold" received,ready -> on_hold
  action mark_picked_up "mark {it} as picked up" ready -> picked_up
  action cancel "cancel {it}" received,ready,on_hold -> cancelled

table refills refill core rows 8-18 create
  label refill_number code(RF)
  ref prescription_id prescriptions
  col requested_via enum(phone,app,walk_in,auto_refill)
  col requested_at past(30)
  col needed_by futuredate(7) opt edit
  status status requested:3 approved:2 filled:5 denied:1
  action approve "approve {it}" requested -> approved
  action deny "deny {it}" requested -> denied
  action dispense "dispense {it}" approved -> filled

table insurance_claims insurance_claim core rows 8-18 create
  label claim_number code(CLM)
  ref prescription_id prescriptions
  ref insurer_id insurers
  col billed_amount money(10,600)
  col copay money(0,60) opt
  col submitted_at past(30)
  status status submitted:3 paid:5 rejected:2 reversed:1
  action mark_paid "mark {it} as paid" submitted -> paid
  action reject "record {it} as rejected" submitted -> rejected
  action reverse "reverse {it}" paid -> reversed

table purchase_orders purchase_order rows 4-10 create
  label po_number code(PO)
  ref medication_id medications
  ref wholesaler_id wholesalers
  col units_ordered int(50,1000)
  col expected_on futuredate(10)
  status status ordered:3 shipped:2 received:4 cancelled:1
  action mark_shipped "mark {it} as shipped" ordered -> shipped
  action receive "receive {it}" ordered,shipped -> received
  action cancel "cancel {it}" ordered -> cancelled

table immunizations immunization rows 4-10 create
  label record_number code(IMM)
  ref patient_id patients
  ref pharmacy_id pharmacies opt
  col vaccine enum(influenza,covid_19,shingles,tdap,pneumococcal,hepatitis_b)
  col dose_number int(1,3)
  col appointment_at future(30)
  status status scheduled:3 administered:5 cancelled:1
  action administer "record {it} as administered" scheduled -> administered
  action cancel "cancel {it}" scheduled -> cancelled
